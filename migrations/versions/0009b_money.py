"""money: our organization's invoice payment term in banking days; the VAT rate setting of a deal line

Revision ID: 0009_money
Revises: 0009_login_sessions
Create Date: 2026-12-07 08:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_money"
down_revision = "0009_login_sessions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_days", sa.Integer(), server_default="5", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_organizations_payment_days_range"), "payment_days BETWEEN 1 AND 60"
        )

    # The rate setting a line was priced with: the general rates (20% before 2026, 22% since)
    # came from «auto» — the setting documents resolve again on their own dates; any other rate
    # was chosen in the price list.
    with op.batch_alter_table("deal_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vat_setting", sa.String(length=8), server_default="auto", nullable=False)
        )
    op.execute(
        "UPDATE deal_lines SET vat_setting = CASE "
        "WHEN vat_rate IS NULL THEN 'none' "
        "WHEN vat_rate IN (20, 22) THEN 'auto' "
        "ELSE CAST(CAST(vat_rate AS INTEGER) AS VARCHAR(8)) END"
    )


def downgrade():
    with op.batch_alter_table("deal_lines", schema=None) as batch_op:
        batch_op.drop_column("vat_setting")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_organizations_payment_days_range"), type_="check")
        batch_op.drop_column("payment_days")
