"""reports: pre-aggregated counters per manager × project × contact type × Moscow month

Revision ID: 0020_report_counters
Revises: 0017_net_prices
Create Date: 2026-12-07 16:00:00

The department, project group and personal reports read their contact and deal figures from
`report_counters` (erp_crm/reports/counters.py keeps them in the business change's transaction).
The back-fill runs the reports' own `rebuild`, the same SELECT that live maintenance runs per
bucket; it reads the newest models, so migrations/env.py runs it once the schema is at head
(AT_HEAD), never halfway up the chain. An index on activities (status, start, responsible, client, project) lets «client ×
project pairs worked» be read from the index alone; two on the stage ledger serve the funnel (each
deal's furthest stage; the stays in order per deal).
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_report_counters'
down_revision = '0017_net_prices'
branch_labels = None
depends_on = None
AT_HEAD = ('erp_crm.reports.counters:rebuild',)


def upgrade():
    op.create_table(
        'report_counters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=1), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('manager_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('type_id', sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False)
          for name in ('planned', 'done', 'on_time', 'postponed', 'forward', 'opened', 'won',
                       'lost')],
        sa.Column('won_m2', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('won_amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('lost_m2', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('lost_amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('sale_days_sum', sa.Float(), nullable=False),
        sa.Column('sale_days_n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_counters')),
    )
    op.create_index('uq_report_counters_bucket', 'report_counters',
                    ['kind', 'month', 'manager_id', 'project_id', 'type_id'], unique=True)
    op.create_index('ix_activities_done_pairs', 'activities',
                    ['status', 'starts_at', 'responsible_id', 'client_id', 'project_id'])
    op.create_index('ix_report_stage_moves_deal_stage', 'report_stage_moves',
                    ['deal_id', 'to_stage_id'])
    op.create_index('ix_report_stage_moves_project_deal_at', 'report_stage_moves',
                    ['project_id', 'deal_id', 'at', 'id', 'to_stage_id'])


def downgrade():
    op.drop_index('ix_report_stage_moves_project_deal_at', table_name='report_stage_moves')
    op.drop_index('ix_report_stage_moves_deal_stage', table_name='report_stage_moves')
    op.drop_index('ix_activities_done_pairs', table_name='activities')
    op.drop_index('uq_report_counters_bucket', table_name='report_counters')
    op.drop_table('report_counters')
