"""desk users and sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

The web desk (docs/desk.md) signs people in: `desk_users` holds each person's roles, argon2id
password hash, wrong-password count and lock, language and the SHA-256 of their API token;
`desk_sessions` holds signed-in browsers by the SHA-256 of their session id with their CSRF token.
Nothing else refers to these tables; follows the newest head (0006).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_users",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_desk_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_desk_users_token_hash")),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_desk_sessions")),
    )
    op.create_index(op.f("ix_desk_sessions_user_name"), "desk_sessions", ["user_name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_sessions_user_name"), table_name="desk_sessions")
    op.drop_table("desk_sessions")
    op.drop_table("desk_users")
