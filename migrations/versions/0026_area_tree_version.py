"""area tree version: a value the areas' triggers change, so processes may keep the tree

Revision ID: 0026
Revises: 0023
Create Date: 2026-11-30 15:30:00

"""
import random

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0023'
branch_labels = None
depends_on = None

# Only the tree's shape: a meeting's due date on an area changes often and matters not.
SHAPE = 'parent_id, level'
PG_FUNCTION = """
CREATE FUNCTION area_tree_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO area_tree_version (id, version) VALUES (1, floor(random() * 9e15)::bigint)
    ON CONFLICT (id) DO UPDATE SET version = excluded.version;
    RETURN NULL;
END $$
"""


def upgrade():
    op.create_table(
        'area_tree_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_area_tree_version')),
    )
    op.execute(sa.text('INSERT INTO area_tree_version (id, version) VALUES (1, :v)')
               .bindparams(v=random.randrange(1, 2 ** 53)))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute('CREATE TRIGGER area_tree_changed AFTER INSERT OR DELETE OR TRUNCATE '
                   'ON areas FOR EACH STATEMENT EXECUTE FUNCTION area_tree_changed()')
        op.execute(f'CREATE TRIGGER area_tree_reshaped AFTER UPDATE OF {SHAPE} '
                   'ON areas FOR EACH STATEMENT EXECUTE FUNCTION area_tree_changed()')
        return
    bump = ('INSERT OR REPLACE INTO area_tree_version (id, version) '
            'VALUES (1, abs(random()) % 9000000000000000); ')
    for name, when in (('ins', 'INSERT'), ('del', 'DELETE'), ('upd', f'UPDATE OF {SHAPE}')):
        op.execute(f'CREATE TRIGGER area_tree_changed_{name} AFTER {when} ON areas '
                   f'BEGIN {bump}END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS area_tree_reshaped ON areas')
        op.execute('DROP TRIGGER IF EXISTS area_tree_changed ON areas')
        op.execute('DROP FUNCTION IF EXISTS area_tree_changed()')
    else:
        for name in ('ins', 'del', 'upd'):
            op.execute(f'DROP TRIGGER IF EXISTS area_tree_changed_{name}')
    op.drop_table('area_tree_version')
