"""Answers applied in iTIP order, delegation, and proposed new times.

Each participant keeps the SEQUENCE and DTSTAMP of the answer applied (RFC 5546 2.1.5), so an
older reply that arrives last cannot overwrite a newer one; the deputy a participant
delegated to; and a table of the new times participants propose (METHOD:COUNTER).

Revision ID: 0007_reply_order
Revises: 0005_sign_in_requests
Create Date: 2026-12-02 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import workflow.models

revision: str = "0007_reply_order"
down_revision: str | None = "0006_inbound_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_sequence", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("answer_dtstamp", workflow.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("delegated_to_person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_participant_delegated_to_person_id", "person", ["delegated_to_person_id"], ["id"]
        )

    op.create_table(
        "counter_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("dtstamp", workflow.models.UTCDateTime(), nullable=False),
        sa.Column("starts_at", workflow.models.UTCDateTime(), nullable=False),
        sa.Column("ends_at", workflow.models.UTCDateTime(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("decided_at", workflow.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", workflow.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["meeting_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("counter_proposal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_counter_proposal_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_counter_proposal_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("counter_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_proposal_session_id"))
        batch_op.drop_index(batch_op.f("ix_counter_proposal_person_id"))
    op.drop_table("counter_proposal")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint("fk_participant_delegated_to_person_id", type_="foreignkey")
        batch_op.drop_column("delegated_to_person_id")
        batch_op.drop_column("answer_dtstamp")
        batch_op.drop_column("answer_sequence")
