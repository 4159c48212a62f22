"""monthly report rollup per municipality and month, with the referral figures of the month

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 03:40:00

"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# (table, month column, columns whose change moves a figure, sequence it bumps). A row marks
# its municipality's month and the all-municipalities row (municipality_id NULL).
WATCHED = [
    ('consultations', 'received_at',
     ['received_at', 'client_id', 'channel', 'event_id', 'fallback_only', 'municipality_id'],
     'dirty_seq'),
    ('clients', 'created_at', ['created_at', 'municipality_id'], 'dirty_seq'),
    ('cases', 'created_at', ['created_at', 'municipality_id'], 'dirty_seq'),
    ('referrals', 'created_at',
     ['created_at', 'municipality_id', 'partner_id', 'status', 'outcome', 'requested_at',
      'sent_at', 'received_at', 'accepted_at', 'completed_at', 'rejected_at'],
     'referral_dirty_seq'),
]
OLD_TABLES = ['consultations', 'clients', 'cases']


def _month(dialect, ref):
    if dialect == 'postgresql':
        return f"to_char({ref} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"
    return f"strftime('%Y-%m', {ref}, '+9 hours')"


def _bump(seq, month, municipality):
    return (f"UPDATE report_month_rollups SET {seq} = {seq} + 1 WHERE month {month} "
            f"AND (municipality_id IS NULL OR municipality_id {municipality});")


def _row(dialect, seq, ref, stamp):
    return _bump(seq, f"= {_month(dialect, ref + '.' + stamp)}", f"= {ref}.municipality_id")


def _through(dialect, seq, table, stamp, where):
    """Every month (and municipality) of the rows of ``table`` that ``where`` picks."""
    return _bump(seq, f"IN (SELECT {_month(dialect, stamp)} FROM {table} WHERE {where})",
                 f"IN (SELECT municipality_id FROM {table} WHERE {where})")


def _0014():
    path = Path(__file__).with_name('0014_report_rollup.py')
    spec = importlib.util.spec_from_file_location('report_rollup_0014', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_triggers(dialect, tables):
    if dialect == 'postgresql':
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS report_rollup_{table}()")
        op.execute("DROP TRIGGER IF EXISTS report_rollup_district ON clients")
        op.execute("DROP FUNCTION IF EXISTS report_rollup_district()")
    else:
        for table in tables:
            for suffix in ('ins', 'del', 'upd'):
                op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{table}_{suffix}")
        op.execute("DROP TRIGGER IF EXISTS report_rollup_district")


def upgrade():
    dialect = op.get_bind().dialect.name
    # The rollup holds nothing but what beat derives from the base tables: made anew.
    _drop_triggers(dialect, OLD_TABLES)
    op.drop_table('report_month_rollups')
    op.create_table(
        'report_month_rollups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=True),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('figures', JSON, nullable=True),
        sa.Column('dirty_seq', sa.Integer(), nullable=False),
        sa.Column('built_seq', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('referral_figures', JSON, nullable=True),
        sa.Column('referral_dirty_seq', sa.Integer(), nullable=False),
        sa.Column('referral_built_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['municipality_id'], ['areas.id'],
                                name=op.f('fk_report_month_rollups_municipality_id_areas')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_month_rollups')),
        sa.UniqueConstraint('month', 'municipality_id',
                            name=op.f('uq_report_month_rollups_month')),
    )
    op.create_index('ix_report_month_rollups_all', 'report_month_rollups', ['month'],
                    unique=True, sqlite_where=sa.text('municipality_id IS NULL'),
                    postgresql_where=sa.text('municipality_id IS NULL'))
    # A client's district is read through its consultations, and only where the client
    # belongs: a change of either marks every month (and municipality) it consulted in.
    district = _through(dialect, 'dirty_seq', 'consultations', 'received_at',
                        'client_id = NEW.id')
    # A rejection's reason is its event's note.
    rejection = {ref: _through(dialect, 'referral_dirty_seq', 'referrals', 'created_at',
                               f'id = {ref}.referral_id') for ref in ('OLD', 'NEW')}
    if dialect == 'postgresql':
        for table, stamp, columns, seq in WATCHED:
            old, new = _row(dialect, seq, 'OLD', stamp), _row(dialect, seq, 'NEW', stamp)
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
        op.execute("CREATE TRIGGER report_rollup_district AFTER UPDATE OF district, "
                   "municipality_id ON clients FOR EACH ROW WHEN (OLD.district IS DISTINCT FROM "
                   "NEW.district OR OLD.municipality_id IS DISTINCT FROM NEW.municipality_id) "
                   "EXECUTE FUNCTION report_rollup_district()")
        op.execute(f"""
CREATE FUNCTION report_rollup_referral_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.to_status = 'rejected' THEN {rejection['OLD']} END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.to_status = 'rejected' THEN {rejection['NEW']} END IF;
  END IF;
  RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER report_rollup_referral_events AFTER INSERT OR DELETE OR UPDATE "
                   "OF referral_id, to_status, note ON referral_events FOR EACH ROW "
                   "EXECUTE FUNCTION report_rollup_referral_events()")
        return
    for table, stamp, columns, seq in WATCHED:
        old, new = _row(dialect, seq, 'OLD', stamp), _row(dialect, seq, 'NEW', stamp)
        op.execute(f"CREATE TRIGGER report_rollup_{table}_ins AFTER INSERT ON {table} "
                   f"BEGIN {new} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_del AFTER DELETE ON {table} "
                   f"BEGIN {old} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_upd AFTER UPDATE OF "
                   f"{', '.join(columns)} ON {table} BEGIN {old} {new} END")
    op.execute("CREATE TRIGGER report_rollup_district AFTER UPDATE OF district, municipality_id "
               "ON clients WHEN OLD.district IS NOT NEW.district OR OLD.municipality_id IS NOT "
               f"NEW.municipality_id BEGIN {district} END")
    op.execute("CREATE TRIGGER report_rollup_referral_events_ins AFTER INSERT ON referral_events "
               f"WHEN NEW.to_status = 'rejected' BEGIN {rejection['NEW']} END")
    op.execute("CREATE TRIGGER report_rollup_referral_events_del AFTER DELETE ON referral_events "
               f"WHEN OLD.to_status = 'rejected' BEGIN {rejection['OLD']} END")
    op.execute("CREATE TRIGGER report_rollup_referral_events_upd AFTER UPDATE OF referral_id, "
               "to_status, note ON referral_events WHEN OLD.to_status = 'rejected' OR "
               f"NEW.to_status = 'rejected' BEGIN {rejection['OLD']} {rejection['NEW']} END")


def downgrade():
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect, [table for table, *_rest in WATCHED] + ['referral_events'])
    op.drop_index('ix_report_month_rollups_all', table_name='report_month_rollups')
    op.drop_table('report_month_rollups')
    # Back to one row per month for everyone, as 0014 made it; beat builds it again.
    _0014().upgrade()
