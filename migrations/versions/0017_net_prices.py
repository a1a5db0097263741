"""prices «без НДС, НДС сверху»: a VAT mode on the price list rows, the services catalog, the
project's registration fee, and on every deal line (copied when the line is added)

Revision ID: 0017_net_prices
Revises: 0011_jobs
Create Date: 2026-12-07 12:10:00

«included» (НДС в т.ч.) is what every existing price meant; «on_top» (НДС сверху) is a net price:
VAT = net × rate per line, gross = net + VAT.
"""

from alembic import op
import sqlalchemy as sa


revision = '0017_net_prices'
down_revision = '0011_jobs'
branch_labels = None
depends_on = None

TABLES = (
    ('stand_prices', 'vat_mode'),
    ('service_items', 'vat_mode'),
    ('projects', 'registration_vat_mode'),
    ('deal_lines', 'vat_mode'),
)


def upgrade():
    for table, column in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(column, sa.String(8), nullable=False, server_default='included')
            )


def downgrade():
    for table, column in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
