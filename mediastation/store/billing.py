"""Shipments with their history, and the invoice lines (R16-R19).

Money is stored as decimal text, never as a float (SQLite has no exact decimal type). Invoice
lines are immutable: the database refuses UPDATE (except setting `sent_at` once) and DELETE, and
a line is unique per (event_key, item_code), so a retried event cannot bill twice. Shipments are
unique per (request, media): a retried export finds the shipment it already made.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON, Date, DateTime, ForeignKey, Integer, String, Text, TypeDecorator, UniqueConstraint, select, update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mediastation.domain.delivery import Recipient, Shipment, ShipmentContents, ShipmentEvent
from mediastation.domain.pricing import InvoiceLine, InvoiceLineDraft
from mediastation.store.db import Database
from mediastation.store.models import Base, utcnow
from mediastation.store.requests import ID_ALPHABET


def new_id(prefix: str) -> str:
    code = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
    return f"{prefix}-{code[:4]}-{code[4:]}"


class Money(TypeDecorator[Decimal]):
    """A Decimal kept as its exact text ("25.00", "-4.50")."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"money must be a finite Decimal, not {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("request_id", "contents_key", name="uq_shipments_request_id"),)

    shipment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    contents_key: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[dict] = mapped_column(JSON)
    contents: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    posted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    tracking: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ShipmentEventRow(Base):
    __tablename__ = "shipment_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.shipment_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    event_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("event_key", "item_code", name="uq_invoice_lines_event_key"),)

    line_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    item_code: Mapped[str] = mapped_column(String(40))
    service_date: Mapped[date] = mapped_column(Date, index=True)
    item_name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    vat_code: Mapped[str] = mapped_column(String(4))
    vat_rate: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str] = mapped_column(String(100), index=True)
    payer_category: Mapped[str] = mapped_column(String(32))
    cost_centre: Mapped[str] = mapped_column(String(35))
    reference: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    price_version: Mapped[date | None] = mapped_column(Date, nullable=True)
    credit_of: Mapped[str | None] = mapped_column(ForeignKey("invoice_lines.line_id"), unique=True, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# Shipments ---------------------------------------------------------------------------------------

def contents_key(request_id: str, contents: ShipmentContents) -> str:
    return hashlib.sha256(f"{request_id}|{contents.key()}".encode()).hexdigest()


class ShipmentRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, *, request_id: str, recipient: Recipient, contents: ShipmentContents,
               actor: str, on: date) -> tuple[Shipment, bool]:
        """Store a prepared shipment unless this request already has one with these media."""
        key = contents_key(request_id, contents)
        existing = self._by_key(request_id, key)
        if existing is not None:
            return existing, False
        try:
            with self.database.session() as session:
                row = ShipmentRow(shipment_id=new_id("S"), request_id=request_id, contents_key=key,
                                  recipient=recipient.to_json(), contents=contents.to_json(), state="prepared",
                                  created_by=actor)
                session.add(row)
                session.flush()
                session.add(ShipmentEventRow(shipment_id=row.shipment_id, event_date=on, actor=actor,
                                             from_state=None, to_state="prepared", note=""))
            shipment_id = row.shipment_id
        except IntegrityError:  # the same export retried at the same moment elsewhere
            existing = self._by_key(request_id, key)
            if existing is None:
                raise
            return existing, False
        return self.get(shipment_id), True  # type: ignore[return-value]

    def _by_key(self, request_id: str, key: str) -> Shipment | None:
        with self.database.session() as session:
            row = session.scalars(select(ShipmentRow).where(ShipmentRow.request_id == request_id,
                                                            ShipmentRow.contents_key == key)).first()
            return _shipment(session, row) if row is not None else None

    def get(self, shipment_id: str) -> Shipment | None:
        with self.database.session() as session:
            row = session.get(ShipmentRow, shipment_id.strip().upper())
            return _shipment(session, row) if row is not None else None

    def with_tracking(self, tracking: str) -> list[Shipment]:
        """The shipments that carry this tracking code (one, or none, when all is well)."""
        with self.database.session() as session:
            rows = session.scalars(select(ShipmentRow).where(ShipmentRow.tracking == tracking)).all()
            return [_shipment(session, row) for row in rows]

    def list(self, *, state: str | None = None, request_id: str | None = None) -> list[Shipment]:
        query = select(ShipmentRow).order_by(ShipmentRow.created_at, ShipmentRow.shipment_id)
        if state:
            query = query.where(ShipmentRow.state == state)
        if request_id:
            query = query.where(ShipmentRow.request_id == request_id)
        with self.database.session() as session:
            rows = session.scalars(query).all()
            events: dict[str, list[ShipmentEventRow]] = {}
            ids = [row.shipment_id for row in rows]
            for start in range(0, len(ids), 500):
                for event in session.scalars(select(ShipmentEventRow)
                                             .where(ShipmentEventRow.shipment_id.in_(ids[start:start + 500]))
                                             .order_by(ShipmentEventRow.event_id)):
                    events.setdefault(event.shipment_id, []).append(event)
            return [_shipment(session, row, events.get(row.shipment_id, [])) for row in rows]

    def change(self, shipment_id: str, decide: Callable[[Shipment], dict[str, Any]], *,
               on: date, actor: str, note: str = "") -> Shipment | None:
        """Apply a state change in one transaction with the row locked (PostgreSQL): `decide`
        sees the current shipment and returns the new column values (with `state`), or raises."""
        with self.database.session() as session:
            row = session.scalars(select(ShipmentRow).where(ShipmentRow.shipment_id == shipment_id.strip().upper())
                                  .with_for_update()).first()
            if row is None:
                return None
            before = row.state
            changes = decide(_shipment(session, row))
            for key, value in changes.items():
                setattr(row, key, value)
            session.add(ShipmentEventRow(shipment_id=row.shipment_id, event_date=on, actor=actor,
                                         from_state=before, to_state=row.state, note=note))
            shipment_id = row.shipment_id
        return self.get(shipment_id)


def _shipment(session: Session, row: ShipmentRow, events: list[ShipmentEventRow] | None = None) -> Shipment:
    if events is None:
        events = list(session.scalars(select(ShipmentEventRow).where(ShipmentEventRow.shipment_id == row.shipment_id)
                                      .order_by(ShipmentEventRow.event_id)))
    return Shipment(
        shipment_id=row.shipment_id, request_id=row.request_id, state=row.state,
        recipient=Recipient.from_mapping(row.recipient),
        contents=ShipmentContents(tuple(row.contents.get("media", ())), tuple(row.contents.get("studies", ()))),
        posted_on=row.posted_on, due_on=row.due_on, tracking=row.tracking,
        events=tuple(ShipmentEvent(e.at.isoformat(timespec="seconds") if e.at else "", e.event_date, e.actor,
                                   e.from_state, e.to_state, e.note or "") for e in events),
    )


# Invoice lines -----------------------------------------------------------------------------------

DRAFT_FIELDS = tuple(InvoiceLineDraft.__dataclass_fields__)


class InvoiceLineRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, drafts: list[InvoiceLineDraft], *, actor: str) -> tuple[list[InvoiceLine], bool]:
        """Store the lines of one event (all or none); when that event already has lines (a retry,
        or another station at the same moment), return those instead: (lines, created)."""
        keys = {draft.event_key for draft in drafts}
        if len(keys) != 1:
            raise ValueError("add() stores the lines of exactly one event")
        key = keys.pop()
        existing = self.by_event(key)
        if existing:
            return existing, False
        try:
            with self.database.session() as session:
                rows = [InvoiceLineRow(line_id=new_id("L"), created_by=actor,
                                       **{name: getattr(draft, name) for name in DRAFT_FIELDS}) for draft in drafts]
                session.add_all(rows)
        except IntegrityError:
            existing = self.by_event(key)
            if not existing:
                raise
            return existing, False
        return [_line(row) for row in rows], True

    def by_event(self, event_key: str) -> list[InvoiceLine]:
        with self.database.session() as session:
            rows = session.scalars(select(InvoiceLineRow).where(InvoiceLineRow.event_key == event_key)
                                   .order_by(InvoiceLineRow.item_code)).all()
            return [_line(row) for row in rows]

    def get(self, line_id: str) -> InvoiceLine | None:
        with self.database.session() as session:
            row = session.get(InvoiceLineRow, line_id.strip().upper())
            return _line(row) if row is not None else None

    def credit_of(self, line_id: str) -> InvoiceLine | None:
        """The credit line cancelling `line_id`, if any."""
        with self.database.session() as session:
            row = session.scalars(select(InvoiceLineRow).where(InvoiceLineRow.credit_of == line_id)).first()
            return _line(row) if row is not None else None

    def credited(self, line_ids: Iterable[str]) -> dict[str, str]:
        """Of `line_ids`, those a credit line cancels: line id -> the credit line's id (one query)."""
        ids = list(line_ids)
        if not ids:
            return {}
        with self.database.session() as session:
            rows = session.execute(select(InvoiceLineRow.credit_of, InvoiceLineRow.line_id)
                                   .where(InvoiceLineRow.credit_of.in_(ids))).all()
            return {credit_of: line_id for credit_of, line_id in rows}

    def in_period(self, start: date, end: date, *, unsent_only: bool = False) -> list[InvoiceLine]:
        """Lines whose service date is in [start, end], in a stable order (same export twice)."""
        query = (select(InvoiceLineRow)
                 .where(InvoiceLineRow.service_date >= start, InvoiceLineRow.service_date <= end)
                 .order_by(InvoiceLineRow.service_date, InvoiceLineRow.created_at, InvoiceLineRow.line_id))
        if unsent_only:
            query = query.where(InvoiceLineRow.sent_at.is_(None))
        with self.database.session() as session:
            return [_line(row) for row in session.scalars(query).all()]

    def mark_sent(self, line_ids: Iterable[str], at: datetime) -> int:
        """Set `sent_at` on lines not yet sent (the only change a stored line allows)."""
        ids = list(line_ids)
        marked = 0
        with self.database.session() as session:  # one transaction, in chunks of bound parameters
            for start in range(0, len(ids), 500):
                result = session.execute(update(InvoiceLineRow)
                                         .where(InvoiceLineRow.line_id.in_(ids[start:start + 500]),
                                                InvoiceLineRow.sent_at.is_(None))
                                         .values(sent_at=at))
                marked += int(result.rowcount or 0)
        return marked


def _line(row: InvoiceLineRow) -> InvoiceLine:
    return InvoiceLine(line_id=row.line_id, **{name: getattr(row, name) for name in DRAFT_FIELDS})
