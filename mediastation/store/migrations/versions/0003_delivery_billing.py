"""shipments with their history, and immutable invoice lines (R16-R19)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = ("billing",)
depends_on = None

LINE_COLUMNS = [
    "line_id", "event_key", "item_code", "service_date", "item_name", "quantity", "unit", "unit_price",
    "vat_code", "vat_rate", "net", "vat", "gross", "currency", "payer", "payer_category", "cost_centre",
    "reference", "note", "price_version", "credit_of", "created_by", "created_at",
]
MESSAGE = "invoice lines are immutable: correct one with a credit line"
SQLITE_GUARDS = [
    f"""CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE OF {', '.join(LINE_COLUMNS)} ON invoice_lines
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER invoice_lines_sent_once BEFORE UPDATE OF sent_at ON invoice_lines
        WHEN OLD.sent_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE} (sent_at is set once)'); END""",
    f"""CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
POSTGRES_GUARDS = [
    f"""CREATE FUNCTION invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'UPDATE' OR OLD.sent_at IS NOT NULL
             OR (to_jsonb(NEW) - 'sent_at') IS DISTINCT FROM (to_jsonb(OLD) - 'sent_at') THEN
            RAISE EXCEPTION '{MESSAGE}';
          END IF;
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER invoice_lines_no_change BEFORE UPDATE OR DELETE ON invoice_lines
       FOR EACH ROW EXECUTE FUNCTION invoice_lines_immutable()""",
    """CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
       FOR EACH STATEMENT EXECUTE FUNCTION invoice_lines_immutable()""",
]


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("contents_key", sa.String(64), nullable=False),
        sa.Column("recipient", sa.JSON(), nullable=False),
        sa.Column("contents", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("tracking", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("request_id", "contents_key", name=op.f("uq_shipments_request_id")),
    )
    op.create_index(op.f("ix_shipments_request_id"), "shipments", ["request_id"])
    op.create_index(op.f("ix_shipments_state"), "shipments", ["state"])
    op.create_table(
        "shipment_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shipment_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_shipment_events")),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.shipment_id"],
                                name=op.f("fk_shipment_events_shipment_id_shipments")),
    )
    op.create_index(op.f("ix_shipment_events_shipment_id"), "shipment_events", ["shipment_id"])
    op.create_table(
        "invoice_lines",
        sa.Column("line_id", sa.String(32), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("item_name", sa.String(300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("unit_price", sa.String(24), nullable=False),
        sa.Column("vat_code", sa.String(4), nullable=False),
        sa.Column("vat_rate", sa.String(24), nullable=False),
        sa.Column("net", sa.String(24), nullable=False),
        sa.Column("vat", sa.String(24), nullable=False),
        sa.Column("gross", sa.String(24), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payer", sa.String(100), nullable=False),
        sa.Column("payer_category", sa.String(32), nullable=False),
        sa.Column("cost_centre", sa.String(35), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("price_version", sa.Date(), nullable=True),
        sa.Column("credit_of", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("event_key", "item_code", name=op.f("uq_invoice_lines_event_key")),
        sa.UniqueConstraint("credit_of", name=op.f("uq_invoice_lines_credit_of")),
        sa.ForeignKeyConstraint(["credit_of"], ["invoice_lines.line_id"],
                                name=op.f("fk_invoice_lines_credit_of_invoice_lines")),
    )
    op.create_index(op.f("ix_invoice_lines_service_date"), "invoice_lines", ["service_date"])
    op.create_index(op.f("ix_invoice_lines_payer"), "invoice_lines", ["payer"])
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoice_lines_no_truncate ON invoice_lines")
        op.execute("DROP TRIGGER IF EXISTS invoice_lines_no_change ON invoice_lines")
        op.execute("DROP FUNCTION IF EXISTS invoice_lines_immutable()")
    op.drop_table("invoice_lines")
    op.drop_table("shipment_events")
    op.drop_table("shipments")
