"""client search bigrams, trigram indexes, households, merge (名寄せ) columns

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def _grams(key):
    # Same pieces as caseapp.services.clients.records.index_grams (copied: migrations never import app
    # code): every distinct character and every distinct overlapping pair.
    if not key:
        return []
    return list(dict.fromkeys([*key, *(key[i:i + 2] for i in range(len(key) - 1))]))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # Trusted extension (PostgreSQL >= 13): the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')

    op.create_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_households_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households'))
    )
    op.create_table('household_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('relationship', sa.String(length=20), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_household_members_added_by_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_household_members_client_id_clients')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_members_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_members')),
    sa.UniqueConstraint('client_id', name=op.f('uq_household_members_client_id'))
    )
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_members_household_id'), ['household_id'], unique=False)

    op.create_table('client_bigrams',
    sa.Column('bigram', sa.String(length=2), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_bigrams_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bigram', 'client_id', name=op.f('pk_client_bigrams'))
    )
    with op.batch_alter_table('client_bigrams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_bigrams_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_merged_into_id'), ['merged_into_id'], unique=False)
        # GIN trigram indexes on PostgreSQL; plain indexes on SQLite (see the model).
        for column in ('search_key', 'kana_key', 'phone'):
            batch_op.create_index(f'ix_clients_{column}_trgm', [column], unique=False, postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})
        batch_op.create_foreign_key(batch_op.f('fk_clients_merged_into_id_clients'), 'clients', ['merged_into_id'], ['id'])

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_household_id'), ['household_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_household_id_households'), 'households', ['household_id'], ['id'])

    # Index the clients that already exist, from the keys stored with them.
    clients = sa.table('clients', sa.column('id', sa.Integer), sa.column('search_key', sa.String),
                       sa.column('kana_key', sa.String))
    grams = sa.table('client_bigrams', sa.column('bigram', sa.String), sa.column('client_id', sa.Integer))
    rows = []
    for client_id, key, kana in bind.execute(sa.select(clients.c.id, clients.c.search_key, clients.c.kana_key)):
        for gram in dict.fromkeys([*_grams(key), *_grams(kana)]):
            rows.append({'bigram': gram, 'client_id': client_id})
        if len(rows) >= 5000:
            op.bulk_insert(grams, rows)
            rows = []
    if rows:
        op.bulk_insert(grams, rows)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_household_id_households'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_household_id'))
        batch_op.drop_column('household_id')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clients_merged_into_id_clients'), type_='foreignkey')
        for column in ('search_key', 'kana_key', 'phone'):
            batch_op.drop_index(f'ix_clients_{column}_trgm')
        batch_op.drop_index(batch_op.f('ix_clients_merged_into_id'))
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')

    with op.batch_alter_table('client_bigrams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_bigrams_client_id'))
    op.drop_table('client_bigrams')
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_members_household_id'))
    op.drop_table('household_members')
    op.drop_table('households')
