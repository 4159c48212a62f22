"""community layer: areas, community members, watch lists and visits, small-area meetings,
activity plans and the coordinator's queue

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 00:15:39.393014

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('hub', sa.String(length=100), nullable=True),
    sa.Column('visit_interval_days', sa.Integer(), nullable=True),
    sa.Column('meetings_per_year', sa.Integer(), nullable=True),
    sa.Column('coordinator_id', sa.Integer(), nullable=True),
    sa.Column('meeting_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['coordinator_id'], ['users.id'], name=op.f('fk_areas_coordinator_id_users')),
    sa.ForeignKeyConstraint(['parent_id'], ['areas.id'], name=op.f('fk_areas_parent_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('code', name=op.f('uq_areas_code'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_areas_meeting_due_at'), ['meeting_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_areas_parent_id'), ['parent_id'], unique=False)

    op.create_table('area_address_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_area_address_keys_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area_address_keys')),
    sa.UniqueConstraint('area_id', 'key', name=op.f('uq_area_address_keys_area_id'))
    )
    with op.batch_alter_table('area_address_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_area_address_keys_key'), ['key'], unique=False)

    op.create_table('community_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('attendees', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_community_meetings_area_id_areas')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_community_meetings_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_meetings'))
    )
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.create_index('ix_community_meetings_area_id_held_on', ['area_id', 'held_on'], unique=False)

    op.create_table('community_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('term_from', sa.Date(), nullable=False),
    sa.Column('term_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_community_members_area_id_areas')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_members')),
    sa.UniqueConstraint('user_id', name=op.f('uq_community_members_user_id'))
    )
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_members_area_id'), ['area_id'], unique=False)

    op.create_table('plan_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_plan_items_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items'))
    )
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_items_area_id'), ['area_id'], unique=False)

    op.create_table('watch_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('watch_for', sa.Text(), nullable=False),
    sa.Column('basis', sa.String(length=30), nullable=False),
    sa.Column('basis_scope', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('basis_detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('watchers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_visit_status', sa.String(length=30), nullable=True),
    sa.Column('visit_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_watch_entries_area_id_areas')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_watch_entries_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_watch_entries_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_entries'))
    )
    with op.batch_alter_table('watch_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_entries_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_entries_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_entries_visit_due_at'), ['visit_due_at'], unique=False)

    op.create_table('plan_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], name=op.f('fk_plan_evaluations_item_id_plan_items')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_plan_evaluations_meeting_id_community_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_evaluations')),
    sa.UniqueConstraint('item_id', 'meeting_id', name=op.f('uq_plan_evaluations_item_id'))
    )
    with op.batch_alter_table('plan_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_evaluations_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('watch_disclosures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('recipients', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('basis', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_watch_disclosures_actor_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_watch_disclosures_client_id_clients')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_watch_disclosures_meeting_id_community_meetings')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch_entries.id'], name=op.f('fk_watch_disclosures_watch_id_watch_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_disclosures'))
    )
    with op.batch_alter_table('watch_disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_disclosures_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_disclosures_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('watch_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_watch_visits_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch_entries.id'], name=op.f('fk_watch_visits_watch_id_watch_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_visits'))
    )
    with op.batch_alter_table('watch_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_visits_watch_id'), ['watch_id'], unique=False)

    op.create_table('community_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_community_tasks_area_id_areas')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_community_tasks_closed_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['watch_visits.id'], name=op.f('fk_community_tasks_visit_id_watch_visits')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch_entries.id'], name=op.f('fk_community_tasks_watch_id_watch_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_tasks')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_community_tasks_dedup_key'))
    )
    with op.batch_alter_table('community_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_tasks_area_id'), ['area_id'], unique=False)
        batch_op.create_index('ix_community_tasks_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_tasks_watch_id'), ['watch_id'], unique=False)

    op.create_table('meeting_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_meeting_reviews_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_meeting_reviews_meeting_id_community_meetings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_meeting_reviews_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['watch_id'], ['watch_entries.id'], name=op.f('fk_meeting_reviews_watch_id_watch_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_reviews')),
    sa.UniqueConstraint('meeting_id', 'watch_id', name=op.f('uq_meeting_reviews_meeting_id'))
    )
    with op.batch_alter_table('meeting_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_reviews_watch_id'), ['watch_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meeting_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_reviews_watch_id'))

    op.drop_table('meeting_reviews')
    with op.batch_alter_table('community_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_tasks_watch_id'))
        batch_op.drop_index('ix_community_tasks_status_due_at')
        batch_op.drop_index(batch_op.f('ix_community_tasks_area_id'))

    op.drop_table('community_tasks')
    with op.batch_alter_table('watch_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_visits_watch_id'))

    op.drop_table('watch_visits')
    with op.batch_alter_table('watch_disclosures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_disclosures_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_watch_disclosures_client_id'))

    op.drop_table('watch_disclosures')
    with op.batch_alter_table('plan_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_evaluations_meeting_id'))

    op.drop_table('plan_evaluations')
    with op.batch_alter_table('watch_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_entries_visit_due_at'))
        batch_op.drop_index(batch_op.f('ix_watch_entries_client_id'))
        batch_op.drop_index(batch_op.f('ix_watch_entries_area_id'))

    op.drop_table('watch_entries')
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_items_area_id'))

    op.drop_table('plan_items')
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_members_area_id'))

    op.drop_table('community_members')
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_community_meetings_area_id_held_on')

    op.drop_table('community_meetings')
    with op.batch_alter_table('area_address_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_area_address_keys_key'))

    op.drop_table('area_address_keys')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_areas_parent_id'))
        batch_op.drop_index(batch_op.f('ix_areas_meeting_due_at'))

    op.drop_table('areas')
