"""municipality boundary: staff, clients, cases, consultations, events, rule sets, referrals and
households belong to a municipality; partners to a layer; PostgreSQL row-level security

Revision ID: 0019
Revises: 0013
Create Date: 2026-11-30 01:10:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0012'
branch_labels = None
depends_on = None

OWNED = ['clients', 'cases', 'consultations', 'events', 'rule_sets', 'referrals', 'households']
COLUMNS = ([(t, 'municipality_id') for t in ['users', *OWNED]]
           + [('partners', 'area_id'), ('clients', 'area_id')])
# The municipality whose data was here before the boundary: Nankoku, under its block.
NANKOKU = [('prefecture', '390003', '高知県', None, None),
           ('block', '390003-chuohigashi', '中央東ブロック（中央東福祉保健所）', '390003',
            '中央東福祉保健所'),
           ('municipality', '392049', '南国市', '390003-chuohigashi', '南国市社会福祉協議会')]
# Unset, empty or '*': unscoped work (migrations, beat, worker, CLI); otherwise the ids allowed.
POLICY = ("coalesce(current_setting('caseapp.municipality', true), '') IN ('', '*') "
          "OR municipality_id = ANY (string_to_array(current_setting('caseapp.municipality', "
          "true), ',')::integer[])")


def _nankoku(bind) -> int | None:
    """Nankoku's area id, made when there are rows to give it; None on an empty database."""
    has_rows = any(bind.execute(sa.text(f'SELECT 1 FROM {t} LIMIT 1')).first()
                   for t in ['users', 'partners', *OWNED])
    areas = sa.table('areas', sa.column('id', sa.Integer), sa.column('code', sa.String),
                     sa.column('name', sa.String), sa.column('level', sa.String),
                     sa.column('parent_id', sa.Integer), sa.column('hub', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    find = sa.select(areas.c.id)
    if not has_rows:
        return None
    for level, code, name, parent, hub in NANKOKU:
        if bind.execute(find.where(areas.c.code == code)).scalar() is None:
            parent_id = bind.execute(find.where(areas.c.code == parent)).scalar() \
                if parent else None
            bind.execute(areas.insert().values(code=code, name=name, level=level,
                                               parent_id=parent_id, hub=hub,
                                               created_at=datetime.now(timezone.utc)))
    return bind.execute(find.where(areas.c.code == '392049')).scalar()


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    for table, column in COLUMNS:
        if sqlite:
            # ADD COLUMN keeps the table (and the report triggers on it); no rebuild.
            op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES areas (id)')
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(f'fk_{table}_{column}_areas'), table, 'areas',
                                  [column], ['id'])
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)
    # Where a consultation took place; no index: read with its consultation.
    if sqlite:
        op.execute('ALTER TABLE consultations ADD COLUMN site VARCHAR(20)')
        op.execute('ALTER TABLE consultations ADD COLUMN site_area_id INTEGER '
                   'REFERENCES areas (id)')
    else:
        op.add_column('consultations', sa.Column('site', sa.String(length=20), nullable=True))
        op.add_column('consultations', sa.Column('site_area_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_consultations_site_area_id_areas'), 'consultations',
                              'areas', ['site_area_id'], ['id'])
    op.create_table(
        'case_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('from_municipality_id', sa.Integer(), nullable=False),
        sa.Column('to_municipality_id', sa.Integer(), nullable=False),
        sa.Column('from_code', sa.String(length=40), nullable=False),
        sa.Column('from_name', sa.String(length=100), nullable=False),
        sa.Column('to_code', sa.String(length=40), nullable=False),
        sa.Column('to_name', sa.String(length=100), nullable=False),
        sa.Column('consent_method', sa.String(length=20), nullable=False),
        sa.Column('consent_given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('by_label', sa.String(length=100), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_case_transfers_by_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_transfers_case_id_cases')),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'],
                                name=op.f('fk_case_transfers_client_id_clients')),
        sa.ForeignKeyConstraint(['from_municipality_id'], ['areas.id'],
                                name=op.f('fk_case_transfers_from_municipality_id_areas')),
        sa.ForeignKeyConstraint(['to_municipality_id'], ['areas.id'],
                                name=op.f('fk_case_transfers_to_municipality_id_areas')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transfers')),
    )
    for column in ('case_id', 'from_municipality_id', 'to_municipality_id'):
        op.create_index(op.f(f'ix_case_transfers_{column}'), 'case_transfers', [column])
    nankoku = _nankoku(bind)
    if nankoku is not None:
        for table in OWNED:
            op.execute(sa.text(f'UPDATE {table} SET municipality_id = :m').bindparams(m=nankoku))
        op.execute(sa.text("UPDATE users SET municipality_id = :m WHERE role <> 'partner' "
                           "AND partner_id IS NULL").bindparams(m=nankoku))
        op.execute(sa.text('UPDATE partners SET area_id = :m').bindparams(m=nankoku))
    with op.batch_alter_table('rule_sets') as batch_op:
        batch_op.drop_constraint('uq_rule_sets_version', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_rule_sets_municipality_id'),
                                          ['municipality_id', 'version'])
    if not sqlite:
        for table in OWNED:
            op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY municipality_boundary ON {table} '
                       f'USING ({POLICY}) WITH CHECK ({POLICY})')


# The report rollup's SQLite triggers (0014), made again after a table rebuild drops them.
WATCHED = [
    ('consultations', 'received_at',
     ['received_at', 'client_id', 'channel', 'event_id', 'fallback_only']),
    ('clients', 'created_at', ['created_at']),
    ('cases', 'created_at', ['created_at']),
]


def _sqlite_report_triggers():
    def month(ref):
        return f"strftime('%Y-%m', {ref}, '+9 hours')"

    def bump(where):
        return f"UPDATE report_month_rollups SET dirty_seq = dirty_seq + 1 WHERE {where};"

    district = bump("month IN (SELECT " + month('received_at')
                    + " FROM consultations WHERE client_id = NEW.id)")
    for table, stamp, columns in WATCHED:
        old = bump(f"month = {month('OLD.' + stamp)}")
        new = bump(f"month = {month('NEW.' + stamp)}")
        for suffix in ('ins', 'del', 'upd'):
            op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{table}_{suffix}")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_ins AFTER INSERT ON {table} "
                   f"BEGIN {new} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_del AFTER DELETE ON {table} "
                   f"BEGIN {old} END")
        op.execute(f"CREATE TRIGGER report_rollup_{table}_upd AFTER UPDATE OF "
                   f"{', '.join(columns)} ON {table} BEGIN {old} {new} END")
    op.execute("DROP TRIGGER IF EXISTS report_rollup_district")
    op.execute("CREATE TRIGGER report_rollup_district AFTER UPDATE OF district ON clients "
               f"WHEN OLD.district IS NOT NEW.district BEGIN {district} END")


def _one_numbering(bind):
    """Versions are numbered once for all again: later municipalities' move up, with the
    consultations and decisions that name them, so every decision still finds its rule set."""
    towns = bind.execute(sa.text('SELECT DISTINCT municipality_id FROM rule_sets '
                                 'WHERE municipality_id IS NOT NULL ORDER BY 1')).scalars().all()
    for town in towns[1:]:
        offset = bind.execute(sa.text('SELECT max(version) FROM rule_sets')).scalar()
        params = {'offset': offset, 'town': town}
        bind.execute(sa.text('UPDATE routing_decisions SET ruleset_version = ruleset_version + '
                             ':offset WHERE consultation_id IN (SELECT id FROM consultations '
                             'WHERE municipality_id = :town)'), params)
        bind.execute(sa.text('UPDATE consultations SET ruleset_version = ruleset_version + '
                             ':offset WHERE municipality_id = :town'), params)
        bind.execute(sa.text('UPDATE rule_sets SET version = version + :offset '
                             'WHERE municipality_id = :town'), params)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        # A rebuilt table's rename fails while another table's trigger names it: off until done.
        for table, _stamp, _columns in WATCHED:
            for suffix in ('ins', 'del', 'upd'):
                op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{table}_{suffix}")
        op.execute("DROP TRIGGER IF EXISTS report_rollup_district")
    if not sqlite:
        for table in OWNED:
            op.execute(f'DROP POLICY IF EXISTS municipality_boundary ON {table}')
            op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} DISABLE ROW LEVEL SECURITY')
    op.drop_table('case_transfers')
    _one_numbering(op.get_bind())
    with op.batch_alter_table('rule_sets') as batch_op:
        batch_op.drop_constraint('uq_rule_sets_municipality_id', type_='unique')
        batch_op.create_unique_constraint('uq_rule_sets_version', ['version'])
    with op.batch_alter_table('consultations') as batch_op:
        if not sqlite:
            batch_op.drop_constraint(op.f('fk_consultations_site_area_id_areas'),
                                     type_='foreignkey')
        batch_op.drop_column('site_area_id')
        batch_op.drop_column('site')
    for table, column in COLUMNS:
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
        with op.batch_alter_table(table) as batch_op:
            if not sqlite:
                batch_op.drop_constraint(op.f(f'fk_{table}_{column}_areas'), type_='foreignkey')
            batch_op.drop_column(column)
    if sqlite:
        _sqlite_report_triggers()
