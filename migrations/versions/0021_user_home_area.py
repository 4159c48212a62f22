"""user home area: staff who work at an あったかふれあいセンター name its 地区 (or 小地域)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 03:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # ADD COLUMN keeps the table as it is; no rebuild.
        op.execute('ALTER TABLE users ADD COLUMN area_id INTEGER REFERENCES areas (id)')
    else:
        op.add_column('users', sa.Column('area_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_users_area_id_areas'), 'users', 'areas',
                              ['area_id'], ['id'])
    op.create_index(op.f('ix_users_area_id'), 'users', ['area_id'], unique=False)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index(op.f('ix_users_area_id'), table_name='users')
    with op.batch_alter_table('users') as batch_op:
        if not sqlite:
            batch_op.drop_constraint(op.f('fk_users_area_id_areas'), type_='foreignkey')
        batch_op.drop_column('area_id')
