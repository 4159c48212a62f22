"""rights and retention: stops of use (利用停止), anonymisation mark on clients

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-29 12:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('use_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_use_stops_client_id_clients')),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_use_stops_lifted_by_id_users')),
    sa.ForeignKeyConstraint(['stopped_by_id'], ['users.id'], name=op.f('fk_use_stops_stopped_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_use_stops'))
    )
    with op.batch_alter_table('use_stops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_use_stops_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_anonymised_at'), ['anonymised_at'], unique=False)


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_anonymised_at'))
        batch_op.drop_column('anonymised_at')

    with op.batch_alter_table('use_stops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_use_stops_client_id'))

    op.drop_table('use_stops')
