"""audit entries: hash chain, and append-only on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 03:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
"""


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', nullable=False)
        batch_op.alter_column('hash', nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_hash'), ['hash'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY)


def _chain_existing_rows():
    # The digest is the application's own, so the chain is exactly what `caseapp audit verify`
    # checks; the rows are read with this revision's columns, not the current model.
    from datetime import UTC
    from types import SimpleNamespace

    from caseapp.services.core.audit import GENESIS, digest

    names = ("id", "at", "actor_id", "actor_label", "actor_role", "action", "resource_type",
             "resource_id", "purpose", "outcome", "source_ip", "detail", "note")
    types = {"at": sa.DateTime(timezone=True), "detail": sa.JSON()}
    table = sa.table("audit_entries", *(sa.column(n, types.get(n)) for n in names),
                     sa.column("prev_hash"), sa.column("hash"))
    bind = op.get_bind()
    previous = GENESIS
    for row in bind.execute(sa.select(*(table.c[n] for n in names)).order_by(table.c.id)):
        entry = SimpleNamespace(**row._mapping)
        if entry.at.tzinfo is None:
            entry.at = entry.at.replace(tzinfo=UTC)
        entry.at = entry.at.astimezone(UTC)
        current = digest(entry, previous)
        bind.execute(table.update().where(table.c.id == entry.id)
                     .values(prev_hash=previous, hash=current))
        previous = current


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_hash'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
