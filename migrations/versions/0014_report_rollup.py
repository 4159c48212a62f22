"""monthly report: a rollup per closed month, kept honest by triggers

Revision ID: 0014
Revises: 0007
Create Date: 2026-11-28 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# (table, timestamp column, columns whose change moves a figure) for every table whose rows
# feed a rolled-up figure. Triggers rather than service code: any writer (ORM, Core, a bulk
# import, psql) marks the month in its own transaction, so no write path can forget.
WATCHED = [
    ('consultations', 'received_at',
     ['received_at', 'client_id', 'channel', 'event_id', 'fallback_only']),
    ('clients', 'created_at', ['created_at']),
    ('cases', 'created_at', ['created_at']),
]


def _month(dialect, ref):
    if dialect == 'postgresql':
        return f"to_char({ref} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"
    return f"strftime('%Y-%m', {ref}, '+9 hours')"


def _bump(dialect, where):
    return f"UPDATE report_month_rollups SET dirty_seq = dirty_seq + 1 WHERE {where};"


def upgrade():
    op.create_table(
        'report_month_rollups',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('figures', JSON, nullable=True),
        sa.Column('dirty_seq', sa.Integer(), nullable=False),
        sa.Column('built_seq', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_report_month_rollups')),
    )
    dialect = op.get_bind().dialect.name
    # A client's district is read through its consultations: mark every month it consulted in.
    district = _bump(dialect, "month IN (SELECT " + _month(dialect, 'received_at')
                     + " FROM consultations WHERE client_id = NEW.id)")
    if dialect == 'postgresql':
        for table, stamp, columns in WATCHED:
            old = _bump(dialect, f"month = {_month(dialect, 'OLD.' + stamp)}")
            new = _bump(dialect, f"month = {_month(dialect, 'NEW.' + stamp)}")
            op.execute(f"""
CREATE FUNCTION report_rollup_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {old} END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN {new} END IF;
  RETURN NULL;
END $$""")
            op.execute(f"CREATE TRIGGER report_rollup_{table} AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION report_rollup_{table}()")
        op.execute(f"""
CREATE FUNCTION report_rollup_district() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {district} RETURN NULL; END $$""")
        op.execute("CREATE TRIGGER report_rollup_district AFTER UPDATE OF district ON clients "
                   "FOR EACH ROW WHEN (OLD.district IS DISTINCT FROM NEW.district) "
                   "EXECUTE FUNCTION report_rollup_district()")
        return
    for table, stamp, columns in WATCHED:
        old = _bump(dialect, f"month = {_month(dialect, 'OLD.' + stamp)}")
        new = _bump(dialect, f"month = {_month(dialect, 'NEW.' + stamp)}")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_ins AFTER INSERT ON {table} "
                   f"BEGIN {new} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_del AFTER DELETE ON {table} "
                   f"BEGIN {old} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_upd AFTER UPDATE OF "
                   f"{', '.join(columns)} ON {table} BEGIN {old} {new} END")
    op.execute("CREATE TRIGGER report_rollup_district AFTER UPDATE OF district ON clients "
               f"WHEN OLD.district IS NOT NEW.district BEGIN {district} END")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for table, _stamp, _columns in WATCHED:
            op.execute(f"DROP TRIGGER report_rollup_{table} ON {table}")
            op.execute(f"DROP FUNCTION report_rollup_{table}()")
        op.execute("DROP TRIGGER report_rollup_district ON clients")
        op.execute("DROP FUNCTION report_rollup_district()")
    else:
        # A later downgrade that rebuilds a table on SQLite (batch mode) drops its triggers.
        for table, _stamp, _columns in WATCHED:
            for suffix in ('ins', 'del', 'upd'):
                op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{table}_{suffix}")
        op.execute("DROP TRIGGER IF EXISTS report_rollup_district")
    op.drop_table('report_month_rollups')
