"""audit outbox and sender lease; the disclosure log re-sealed with the station's HMAC key

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-07

Follows 0003 on the ledger branch: it changes the disclosure log (0002) and adds the outbox of the
audit messages that ledgers' entries send (mediastation/audit/); it needs nothing of the job queue.

Until now each entry's chain value was SHA-256(previous value, content), which anyone with the
database can compute again after an edit. From here on it is HMAC-SHA-256 with the key in
`[log] key_file` (mediastation/domain/disclosure.py). Existing entries are re-anchored once: the old
chain is checked, every entry's `prev_hash`/`entry_hash` is computed again under the key (content
untouched), and a last entry says so, with the old chain's head and what its check found. The
append-only triggers are lifted for that one rewrite and put back as 0002 made them. The key comes
from the caller (store/db.py hands it in as the `log_key` attribute); a log with entries and no key
is refused, so a station never runs on a half-sealed log. Frozen with the schema it reads: it must
not import the application.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0003"
branch_labels = ("audit",)
depends_on = None

GENESIS = "0" * 64
SQLITE_GUARDS = [
    """CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
       BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END""",
    """CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures
       BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only: add a correction entry'); END""",
]
POSTGRES_LIFT = ["ALTER TABLE disclosures DISABLE TRIGGER disclosures_no_change"]
POSTGRES_RESTORE = ["ALTER TABLE disclosures ENABLE TRIGGER disclosures_no_change"]


def _sha(prev: str, content: str) -> str:
    return hashlib.sha256(f"{prev}\n{content}".encode("utf-8")).hexdigest()


def _mac(key: bytes, prev: str, content: str) -> str:
    return hmac.new(key, f"{prev}\n{content}".encode("utf-8"), hashlib.sha256).hexdigest()


def _canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    key = _key_if_needed()  # refuse before any DDL: SQLite does not roll DDL back
    op.create_table(
        "audit_outbox",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station", sa.String(200), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_outbox")),
    )
    op.create_index(op.f("ix_audit_outbox_sent_at"), "audit_outbox", ["sent_at"])
    sender = op.create_table(
        "audit_sender",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sender")),
    )
    op.bulk_insert(sender, [{"id": 1, "owner": "", "failures": 0, "last_error": ""}])
    if key is not None:
        _reanchor(key)


def _key_if_needed() -> bytes | None:
    """The key when the log has entries to re-seal; None when it is empty."""
    if op.get_bind().execute(sa.text("SELECT count(*) FROM disclosures")).scalar() == 0:
        return None
    key = context.config.attributes.get("log_key")
    if not key:
        raise RuntimeError("the disclosure log must be re-sealed with the station's key, and there is none: "
                           "run `mediastation init` (it creates [log] key_file), or copy the key file of the "
                           "stations sharing this database")
    return key


def _reanchor(key: bytes) -> None:
    bind = op.get_bind()
    log = sa.table("disclosures", sa.column("seq", sa.Integer), sa.column("patient_hetu", sa.String),
                   sa.column("request_id", sa.String), sa.column("recorded_at", sa.String),
                   sa.column("content_json", sa.Text), sa.column("prev_hash", sa.String),
                   sa.column("entry_hash", sa.String))
    rows = bind.execute(sa.select(log.c.seq, log.c.content_json, log.c.prev_hash, log.c.entry_hash)
                        .order_by(log.c.seq)).all()
    problems: list[str] = []
    expected = GENESIS
    for number, row in enumerate(rows, start=1):
        if row.seq != number or row.prev_hash != expected or _sha(row.prev_hash, row.content_json) != row.entry_hash:
            problems.append(f"entry {row.seq} did not fit the old chain")
        expected = row.entry_hash
    postgres = bind.dialect.name == "postgresql"
    for statement in (POSTGRES_LIFT if postgres else ["DROP TRIGGER disclosures_no_update"]):
        op.execute(statement)
    head = GENESIS
    # Two passes: unique prev_hash/entry_hash must hold after every single UPDATE, so first move
    # every value out of the way (prefix "x", never a hex digest), then write the new chain.
    for row in rows:
        bind.execute(log.update().where(log.c.seq == row.seq).values(prev_hash=f"x{row.seq}", entry_hash=f"y{row.seq}"))
    for row in rows:
        value = _mac(key, head, row.content_json)
        bind.execute(log.update().where(log.c.seq == row.seq).values(prev_hash=head, entry_hash=value))
        head = value
    for statement in (POSTGRES_RESTORE if postgres else SQLITE_GUARDS[:1]):
        op.execute(statement)
    seq = rows[-1].seq + 1
    recorded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    note = (f"the log's {len(rows)} entries were re-sealed with the station's key (HMAC-SHA-256, migration 0006); "
            "until now their chain was plain SHA-256, which anyone with the database could compute again")
    content = {"kind": "re-anchor", "note": note, "entries": len(rows), "legacy_head": expected,
               "legacy_chain": "intact" if not problems else problems, "actor": "migration 0006", "station": "",
               "seq": seq, "recorded_at": recorded_at, "request_id": None, "patient": {"hetu": ""},
               "correction_of": None}
    content_json = _canonical(content)
    bind.execute(log.insert().values(seq=seq, patient_hetu="", request_id=None, recorded_at=recorded_at,
                                     content_json=content_json, prev_hash=head,
                                     entry_hash=_mac(key, head, content_json)))


def downgrade() -> None:
    raise NotImplementedError("a log sealed with the key cannot go back to a chain anyone can compute")
