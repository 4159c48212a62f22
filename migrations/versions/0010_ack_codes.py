"""ack codes: the short code printed on a referral letter

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ack_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ack_codes_created_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_ack_codes_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ack_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_ack_codes_code')),
    sa.UniqueConstraint('nonce', name=op.f('uq_ack_codes_nonce'))
    )
    with op.batch_alter_table('ack_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ack_codes_referral_id'), ['referral_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ack_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ack_codes_referral_id'))

    op.drop_table('ack_codes')
