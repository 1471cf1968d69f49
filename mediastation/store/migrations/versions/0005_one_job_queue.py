"""one job queue: leases, typed stage outcomes; export and import jobs in one table

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Export jobs kept their state as loose keys in `jobs.detail`, import jobs had their own table. Both
become rows of `jobs` with an owner and a lease (mediastation/jobs/), their parameters in `params`
and each finished stage's outcome in `stages` (the export's models: workflows/export/types.py).
A job the old schema left unfinished is `queued` afterwards, so `export ID`, `import run` or a
worker resumes it after its last finished stage. The conversion below is frozen with the schema it
reads: it must not import the application.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s"}
EXPORT_STAGES = ("retrieve", "compose", "package", "write", "verify", "record")


def _export_row(detail: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params, stages) of an export job from its old `detail` keys."""
    params = {"request_id": detail.get("request_id", ""), "medium": None, "burner": detail.get("burner"),
              "to_dir": detail.get("to_dir"), "actor": "", "copy_number": int(detail.get("copy", 1)),
              "attempt": int(detail.get("attempt", 1)), "reports": dict(detail.get("given_reports") or {})}
    done = set(detail.get("done", []))
    seconds = detail.get("seconds", {})
    outcomes: dict[str, dict[str, Any]] = {
        "retrieve": {"studies": detail.get("studies", [])},
        "compose": {"medium": detail.get("medium"), "profile": detail.get("profile"), "discs": detail.get("discs", []),
                    "conversions": detail.get("conversions", []), "viewer": detail.get("viewer", []),
                    "reports": detail.get("reports"), "cover_letter": detail.get("cover_letter_staged"),
                    "labels": detail.get("labels_staged", [])},
        "package": {"images": detail.get("images", [])},
        "write": {"discs": detail.get("written", []), "cover_letter": detail.get("cover_letter"),
                  "labels": detail.get("labels", [])},
        "verify": {"media": detail.get("media", [])},
        "record": {"shipment_done": "shipment_id" in detail, "shipment_id": detail.get("shipment_id"),
                   "disclosure_seq": detail.get("disclosure_seq"), "invoice_lines": detail.get("invoice_lines")},
    }
    stages = {name: {"done": True, "seconds": float(seconds.get(name, 0.0)), "state": outcomes[name]}
              for name in EXPORT_STAGES if name in done}
    if "record" not in done and any(k in detail for k in ("shipment_id", "disclosure_seq", "invoice_lines")):
        stages["record"] = {"done": False, "seconds": 0.0, "state": outcomes["record"]}
    return params, stages


def _import_params(row: Any) -> dict[str, Any]:
    """An import job's parameters: the `import run` options that make the same job again."""
    mapping = row.mapping_json or {}
    groups = mapping.get("groups", [])
    return {"source": row.source, "maps": [f"{g['key']}={g['hetu']}" for g in groups],
            "names": [f"{g['key']}={g['name']}" for g in groups if g.get("name")],
            "birth_dates": [f"{g['key']}={g['birth_date']}" for g in groups if g.get("birth_date")],
            "accession": row.accession, "payer": row.payer, "operator": row.operator, "language": None,
            "reports": [f"{r['path']}={r['study_instance_uid']}" for r in mapping.get("reports", [])],
            "medium_fingerprint": row.medium_fingerprint, "mapping_fingerprint": row.mapping_fingerprint,
            "medium": row.medium, "mapping": mapping}


def _state(old: str) -> str:
    return old if old in ("done", "failed") else "queued"


def upgrade() -> None:
    with op.batch_alter_table("jobs", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("subject", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("owner", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("needs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("stages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("error", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    jobs = sa.table("jobs", sa.column("job_id", sa.String), sa.column("kind", sa.String), sa.column("state", sa.String),
                    sa.column("stage", sa.String), sa.column("station", sa.String), sa.column("subject", sa.String),
                    sa.column("detail", sa.JSON), sa.column("needs", sa.JSON), sa.column("params", sa.JSON),
                    sa.column("stages", sa.JSON), sa.column("result", sa.JSON), sa.column("error", sa.JSON),
                    sa.column("attempts", sa.Integer), sa.column("created_at", sa.DateTime(timezone=True)),
                    sa.column("updated_at", sa.DateTime(timezone=True)))
    for row in bind.execute(sa.select(jobs.c.job_id, jobs.c.state, jobs.c.detail)).all():
        detail = row.detail or {}
        params, stages = _export_row(detail)
        error = detail.get("error")
        bind.execute(jobs.update().where(jobs.c.job_id == row.job_id).values(
            state=_state(row.state), subject=params["request_id"], needs={}, params=params, stages=stages,
            error=error if row.state == "failed" else None, attempts=1 if row.state != "queued" else 0,
            stage="done" if row.state == "done" else max((s for s in stages), key=EXPORT_STAGES.index, default="")))
    typed = {"mapping_json": sa.JSON(), "result_json": sa.JSON(), "invoice_lines": sa.JSON(), "runs": sa.Integer(),
             "created_at": sa.DateTime(timezone=True), "updated_at": sa.DateTime(timezone=True)}
    imports = sa.table("import_jobs", *(sa.column(name, typed.get(name, sa.String())) for name in (
        "job_id", "medium_fingerprint", "mapping_fingerprint", "source", "medium", "state", "stage", "operator", "payer",
        "accession", "station", "mapping_json", "result_json", "invoice_lines", "runs", "created_at", "updated_at")))
    for row in bind.execute(sa.select(imports)).all():
        record = {"done": row.state == "done", "seconds": 0.0, "state": {"invoice_lines": list(row.invoice_lines or [])}}
        bind.execute(jobs.insert().values(
            job_id=row.job_id, kind="import", state=_state(row.state), stage=row.stage or "", station=row.station or "",
            subject=row.medium_fingerprint, detail={}, needs={"station": row.station} if row.station else {},
            params=_import_params(row), stages={"record": record} if row.invoice_lines else {},
            result=row.result_json or None, error=None, attempts=row.runs or 0, created_at=row.created_at,
            updated_at=row.updated_at))
    with op.batch_alter_table("jobs", naming_convention=NAMING) as batch:
        batch.drop_column("detail")
        batch.create_index("ix_jobs_state", ["state"])
        batch.create_index("ix_jobs_subject", ["subject"])
    with op.batch_alter_table("import_files", naming_convention=NAMING, recreate="always") as batch:
        batch.drop_constraint("fk_import_files_job_id_import_jobs", type_="foreignkey")
        batch.create_foreign_key("fk_import_files_job_id_jobs", "jobs", ["job_id"], ["job_id"])
    op.drop_index("ix_import_jobs_medium_fingerprint", table_name="import_jobs")
    op.drop_table("import_jobs")


def downgrade() -> None:
    raise NotImplementedError("the one job queue cannot be split back into export and import tables")
