"""import jobs of outside media and the outcome of every file on them

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = ("import",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("medium_fingerprint", sa.String(64), nullable=False),
        sa.Column("mapping_fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("medium", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("payer", sa.String(100), nullable=True),
        sa.Column("accession", sa.String(64), nullable=True),
        sa.Column("station", sa.String(200), nullable=False),
        sa.Column("mapping_json", sa.JSON(), nullable=False),
        sa.Column("result_json", sa.JSON(), nullable=False),
        sa.Column("invoice_lines", sa.JSON(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("medium_fingerprint", "mapping_fingerprint", name="uq_import_jobs_medium_mapping"),
    )
    op.create_index(op.f("ix_import_jobs_medium_fingerprint"), "import_jobs", ["medium_fingerprint"])
    op.create_table(
        "import_files",
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("patient_key", sa.String(16), nullable=True),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True),
        sa.Column("study_instance_uid", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax", sa.String(64), nullable=True),
        sa.Column("converted_from", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.job_id"], name=op.f("fk_import_files_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_import_files")),
    )
    op.create_index(op.f("ix_import_files_sop_instance_uid"), "import_files", ["sop_instance_uid"])


def downgrade() -> None:
    op.drop_table("import_files")
    op.drop_table("import_jobs")
