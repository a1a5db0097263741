"""outbox: an `invalid` status for what the exchange contract forbids (kept with its reason)

Revision ID: 0019_outbox_invalid
Revises: 0012_reports
Create Date: 2026-12-07 12:20:00

A counterparty 1C cannot take (a person, no or a wrong ИНН) and the documents addressed to it
are no longer queued to block the outbox: their rows are stored `invalid` with the reason.
"""

from alembic import op


revision = "0019_outbox_invalid"
down_revision = "0012_reports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch.create_check_constraint(
            "status_known", "status IN ('pending', 'sent', 'dead', 'invalid')"
        )


def downgrade():
    op.execute("UPDATE outbox_messages SET status = 'dead' WHERE status = 'invalid'")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch.create_check_constraint("status_known", "status IN ('pending', 'sent', 'dead')")
