"""release requests and the append-only disclosure log (R13)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_GUARDS = [
    """CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
       BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END""",
    """CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures
       BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END""",
]
POSTGRES_GUARDS = [
    """CREATE FUNCTION disclosures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the disclosure log is append-only: add a correction entry'; END $$""",
    """CREATE TRIGGER disclosures_no_change BEFORE UPDATE OR DELETE ON disclosures
       FOR EACH ROW EXECUTE FUNCTION disclosures_append_only()""",
    """CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures
       FOR EACH STATEMENT EXECUTE FUNCTION disclosures_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "release_requests",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("patient_hetu", sa.String(16), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("destination", sa.String(300), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("request_json", sa.JSON(), nullable=False),
        sa.Column("decision_json", sa.JSON(), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("station", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_release_requests")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_release_requests_content_hash")),
    )
    op.create_index(op.f("ix_release_requests_patient_hetu"), "release_requests", ["patient_hetu"])
    op.create_table(
        "disclosures",
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("patient_hetu", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_disclosures")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_disclosures_prev_hash")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_disclosures_entry_hash")),
    )
    op.create_index(op.f("ix_disclosures_patient_hetu"), "disclosures", ["patient_hetu"])
    op.create_index(op.f("ix_disclosures_request_id"), "disclosures", ["request_id"])
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS disclosures_no_truncate ON disclosures")
        op.execute("DROP TRIGGER IF EXISTS disclosures_no_change ON disclosures")
        op.execute("DROP FUNCTION IF EXISTS disclosures_append_only()")
    op.drop_table("disclosures")
    op.drop_table("release_requests")
