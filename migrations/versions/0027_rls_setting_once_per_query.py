"""row-level security: the scope setting is read once per query, not once per row

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 15:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

OWNED = ['clients', 'cases', 'consultations', 'events', 'rule_sets', 'referrals', 'households']
SETTING = "current_setting('caseapp.municipality', true)"
# Each sub-select is an InitPlan: PostgreSQL parses the setting once per statement, and a row
# costs one comparison with an integer array (before: the text split and cast for every row).
# (The cast outside the sub-select makes ANY take an array, not a sub-query's rows.)
POLICY = (f"(SELECT coalesce({SETTING}, '') IN ('', '*')) "
          f"OR municipality_id = ANY ((SELECT string_to_array(nullif({SETTING}, '*'), ',')"
          "::integer[])::integer[])")
OLD = (f"coalesce({SETTING}, '') IN ('', '*') "
       f"OR municipality_id = ANY (string_to_array(nullif({SETTING}, '*'), ',')::integer[])")


def _policies(expression: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in OWNED:
        op.execute(f'ALTER POLICY municipality_boundary ON {table} '
                   f'USING ({expression}) WITH CHECK ({expression})')


def upgrade():
    _policies(POLICY)


def downgrade():
    _policies(OLD)
