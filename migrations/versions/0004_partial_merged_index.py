"""clients.merged_into_id: a partial index (only merged rows)

Revision ID: 0004_partial_merged_index
Revises: 0003_projects_deals
Create Date: 2026-11-23 03:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_partial_merged_index'
down_revision = '0003_projects_deals'
branch_labels = None
depends_on = None

WHERE = sa.text("merged_into_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_merged_into_id')
    op.create_index(
        'ix_clients_merged_into_id', 'clients', ['merged_into_id'], unique=False,
        sqlite_where=WHERE, postgresql_where=WHERE,
    )


def downgrade():
    op.drop_index('ix_clients_merged_into_id', table_name='clients')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index('ix_clients_merged_into_id', ['merged_into_id'], unique=False)
