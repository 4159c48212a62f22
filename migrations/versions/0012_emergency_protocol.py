"""emergency protocol: emergencies, life-safety reviews, partner layers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00

"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('emergencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('dangers', JSON, nullable=False),
    sa.Column('words', JSON, nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('action_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['staff_alerts.id'], name=op.f('fk_emergencies_alert_id_staff_alerts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_emergencies_case_id_cases')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_emergencies_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergencies')),
    sa.UniqueConstraint('consultation_id', name=op.f('uq_emergencies_consultation_id'))
    )
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergencies_case_id'), ['case_id'], unique=False)

    op.create_table('safety_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('invoked_by_id', sa.Integer(), nullable=True),
    sa.Column('invoked_by_label', sa.String(length=100), nullable=False),
    sa.Column('invoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_label', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['staff_alerts.id'], name=op.f('fk_safety_reviews_alert_id_staff_alerts')),
    sa.ForeignKeyConstraint(['invoked_by_id'], ['users.id'], name=op.f('fk_safety_reviews_invoked_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_safety_reviews_referral_id_referrals')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_safety_reviews_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_reviews'))
    )
    with op.batch_alter_table('safety_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_reviews_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_reviews_reviewed_at'), ['reviewed_at'], unique=False)

    # partners has no triggers, so a SQLite rebuild of it (batch mode) loses nothing.
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layer', sa.String(length=20), nullable=False,
                                      server_default='municipality'))


def downgrade():
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('layer')

    with op.batch_alter_table('safety_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_reviews_reviewed_at'))
        batch_op.drop_index(batch_op.f('ix_safety_reviews_referral_id'))
    op.drop_table('safety_reviews')

    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergencies_case_id'))
    op.drop_table('emergencies')
