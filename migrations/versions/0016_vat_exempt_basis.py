"""organizations: the wording documents print when the organization charges no VAT

Revision ID: 0016_vat_exempt_basis
Revises: 0015_contract_signed
Create Date: 2026-12-07 12:15:00

The tax regime was stored and read by nothing: documents now follow it (УСН with VAT at the
organization's 5% or 7%; without VAT «Без НДС (<basis>)»), the basis editable per organization.
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_vat_exempt_basis'
down_revision = '0015_contract_signed'
branch_labels = None
depends_on = None

DEFAULT = "НДС не облагается на основании п. 2 ст. 346.11 НК РФ"


def upgrade():
    with op.batch_alter_table('organizations') as batch:
        batch.add_column(
            sa.Column('vat_exempt_basis', sa.String(300), nullable=False, server_default=DEFAULT)
        )


def downgrade():
    with op.batch_alter_table('organizations') as batch:
        batch.drop_column('vat_exempt_basis')
