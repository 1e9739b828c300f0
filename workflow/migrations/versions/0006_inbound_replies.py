"""Inbound calendar replies: the ledger of messages read from the reply mailbox.

Revision ID: 0006_inbound_replies
Revises: 0005_sign_in_requests
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import workflow.models

revision: str = "0006_inbound_replies"
down_revision: str | None = "0005_sign_in_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=True),
        sa.Column("uid", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("received_at", workflow.models.UTCDateTime(), nullable=False),
        sa.Column("settled_at", workflow.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index(
        op.f("ix_inbound_message_outcome"), "inbound_message", ["outcome"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_message_outcome"), table_name="inbound_message")
    op.drop_table("inbound_message")
