"""reminders: scheduled reminders, the staff e-mail outbox, reminder rows in deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
NO_REMINDER = sa.text('reminder_id IS NULL')


def upgrade():
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('anchor_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('escalates', sa.String(length=30), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_reminders_case_id_cases')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_reminders_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_reminders_dedup_key'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index('ix_reminders_status_due_at', ['status', 'due_at', 'id'], unique=False)

    op.create_table('staff_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reminder_id', sa.Integer(), nullable=False),
    sa.Column('recipients', JSON, nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminders.id'], name=op.f('fk_staff_notices_reminder_id_reminders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_notices')),
    sa.UniqueConstraint('message_id', name=op.f('uq_staff_notices_message_id')),
    sa.UniqueConstraint('reminder_id', name=op.f('uq_staff_notices_reminder_id'))
    )
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.create_index('ix_staff_notices_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    # A partner reminder is a delivery row per channel tied to its reminder: the old
    # (referral, channel, event_type) key now holds only for rows without a reminder.
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deliveries_reminder_id_reminders'), 'reminders', ['reminder_id'], ['id'])
        batch_op.drop_constraint('uq_deliveries_referral_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_deliveries_reminder_id'), ['reminder_id', 'channel'])
        batch_op.create_index('uq_deliveries_referral_channel_event', ['referral_id', 'channel', 'event_type'], unique=True,
                              sqlite_where=NO_REMINDER, postgresql_where=NO_REMINDER)


def downgrade():
    # Reminder rows cannot live under the old key (one row per referral, channel and type).
    op.execute('DELETE FROM delivery_attempts WHERE delivery_id IN '
               '(SELECT id FROM deliveries WHERE reminder_id IS NOT NULL)')
    op.execute('DELETE FROM deliveries WHERE reminder_id IS NOT NULL')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('uq_deliveries_referral_channel_event')
        batch_op.drop_constraint(batch_op.f('uq_deliveries_reminder_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_deliveries_reminder_id_reminders'), type_='foreignkey')
        batch_op.drop_column('reminder_id')
        batch_op.create_unique_constraint('uq_deliveries_referral_id', ['referral_id', 'channel', 'event_type'])

    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_notices_state_next_attempt_at')
    op.drop_table('staff_notices')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_status_due_at')
        batch_op.drop_index(batch_op.f('ix_reminders_referral_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_case_id'))
    op.drop_table('reminders')
