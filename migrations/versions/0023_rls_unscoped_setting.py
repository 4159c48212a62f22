"""row-level security: '*' (unscoped work) no longer fails the integer cast for a role
that does not bypass the policy

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 03:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

OWNED = ['clients', 'cases', 'consultations', 'events', 'rule_sets', 'referrals', 'households']
SETTING = "current_setting('caseapp.municipality', true)"
# PostgreSQL evaluates both sides of OR: '*' must reach the cast as NULL, not as text.
POLICY = (f"coalesce({SETTING}, '') IN ('', '*') "
          f"OR municipality_id = ANY (string_to_array(nullif({SETTING}, '*'), ',')::integer[])")
OLD = (f"coalesce({SETTING}, '') IN ('', '*') "
       f"OR municipality_id = ANY (string_to_array({SETTING}, ',')::integer[])")


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
