"""referral loop: status time, ack due date, reasons, re-routing handled, ack link uses

Revision ID: 0005
Revises: 0008
Create Date: 2026-11-27 03:00:00

"""
from alembic import op
import sqlalchemy as sa

from caseapp.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0008'
branch_labels = None
depends_on = None

ACK_PENDING = ('requested', 'sent', 'received')


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('handled_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referrals_handled_by_id_users'), 'users',
                                    ['handled_by_id'], ['id'])
        batch_op.create_index('ix_referrals_status_ack_due_at', ['status', 'ack_due_at'],
                              unique=False)

    op.create_table('ack_link_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_ack_link_uses_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ack_link_uses')),
    sa.UniqueConstraint('nonce', name=op.f('uq_ack_link_uses_nonce'))
    )
    with op.batch_alter_table('ack_link_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ack_link_uses_referral_id'), ['referral_id'], unique=False)

    _backfill()


def _backfill():
    """Existing referrals: status time from their last change, ack due date from the SLA."""
    from caseapp.rules.calendar import add_business_days

    referrals = sa.table('referrals', sa.column('id', sa.Integer), sa.column('status', sa.String),
                         sa.column('partner_id', sa.Integer),
                         sa.column('updated_at', UTCDateTime), sa.column('status_at', UTCDateTime),
                         sa.column('ack_due_at', UTCDateTime))
    partners = sa.table('partners', sa.column('id', sa.Integer),
                        sa.column('ack_sla_days', sa.Integer))
    bind = op.get_bind()
    sla = dict(bind.execute(sa.select(partners.c.id, partners.c.ack_sla_days)).all())
    rows = bind.execute(sa.select(referrals.c.id, referrals.c.status, referrals.c.partner_id,
                                  referrals.c.updated_at)).all()
    for row in rows:
        due = (add_business_days(row.updated_at, sla.get(row.partner_id, 3))
               if row.status in ACK_PENDING else None)
        bind.execute(referrals.update().where(referrals.c.id == row.id)
                     .values(status_at=row.updated_at, ack_due_at=due))


def downgrade():
    with op.batch_alter_table('ack_link_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ack_link_uses_referral_id'))
    op.drop_table('ack_link_uses')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_ack_due_at')
        batch_op.drop_constraint(batch_op.f('fk_referrals_handled_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('handled_note')
        batch_op.drop_column('handled_by_id')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('ack_due_at')
        batch_op.drop_column('status_at')
