"""events: specialists per partner; on-the-spot teams at consultation events

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-28 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        # Existing events get an empty mapping; the model fills it for new rows.
        batch_op.add_column(sa.Column('specialists', JSON, nullable=False,
                                      server_default=sa.text("'{}'")))

    op.create_table('consultation_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_teams_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_consultation_teams_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_teams')),
    sa.UniqueConstraint('consultation_id', name=op.f('uq_consultation_teams_consultation_id'))
    )
    with op.batch_alter_table('consultation_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_teams_outcome'), ['outcome'], unique=False)

    op.create_table('consultation_team_partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_consultation_team_partners_partner_id_partners')),
    sa.ForeignKeyConstraint(['team_id'], ['consultation_teams.id'], name=op.f('fk_consultation_team_partners_team_id_consultation_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_team_partners')),
    sa.UniqueConstraint('team_id', 'partner_id', name=op.f('uq_consultation_team_partners_team_id'))
    )
    with op.batch_alter_table('consultation_team_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_team_partners_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_team_partners_team_id'), ['team_id'], unique=False)


def downgrade():
    with op.batch_alter_table('consultation_team_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_team_partners_team_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_team_partners_partner_id'))
    op.drop_table('consultation_team_partners')
    with op.batch_alter_table('consultation_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_teams_outcome'))
    op.drop_table('consultation_teams')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('specialists')
