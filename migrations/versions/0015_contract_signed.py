"""pipelines: the sale stage follows the signed contract, not the printed one

Revision ID: 0015_contract_signed
Revises: 0014_template_preview
Create Date: 2026-12-07 11:50:00

Issuing a contract moved deals to «Договор подписан, счёт выставлен» — a sale — although nothing
was signed. A sale stage bound to 'contract_issued' is bound to 'contract_signed' instead (a
document marked signed on its page or by the API); stages that are not sales keep theirs.
"""

from alembic import op


revision = '0015_contract_signed'
down_revision = '0014_template_preview'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE stages SET trigger = 'contract_signed' "
        "WHERE trigger = 'contract_issued' AND is_sale"
    )


def downgrade():
    op.execute(
        "UPDATE stages SET trigger = 'contract_issued' "
        "WHERE trigger = 'contract_signed' AND is_sale"
    )
