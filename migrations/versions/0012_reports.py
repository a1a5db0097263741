"""reports: the stage-transition ledger, back-filled from the deals' stage history

Revision ID: 0012_reports
Revises: 0013_mailing
Create Date: 2026-12-07 11:00:00

Every stage move the deals area recorded (deal_stage_changes) becomes a ledger row. The m² and
amount at an old move were never stored: the back-fill takes the deal's current values, the best
that is known; moves from now on carry their own. An index on activities (client, project,
status, start) serves the reports' «first contact with the client about the project».
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_reports'
down_revision = '0013_mailing'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_stage_moves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('deal_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('pipeline_id', sa.Integer(), nullable=False),
        sa.Column('from_stage_id', sa.Integer(), nullable=True),
        sa.Column('to_stage_id', sa.Integer(), nullable=False),
        sa.Column('from_percent', sa.SmallInteger(), nullable=True),
        sa.Column('to_percent', sa.SmallInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('manager_id', sa.Integer(), nullable=False),
        sa.Column('area_m2', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_report_stage_moves_actor_id_users')),
        sa.ForeignKeyConstraint(['change_id'], ['deal_stage_changes.id'],
                                name=op.f('fk_report_stage_moves_change_id_deal_stage_changes')),
        sa.ForeignKeyConstraint(['deal_id'], ['deals.id'],
                                name=op.f('fk_report_stage_moves_deal_id_deals')),
        sa.ForeignKeyConstraint(['from_stage_id'], ['stages.id'],
                                name=op.f('fk_report_stage_moves_from_stage_id_stages')),
        sa.ForeignKeyConstraint(['manager_id'], ['users.id'],
                                name=op.f('fk_report_stage_moves_manager_id_users')),
        sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'],
                                name=op.f('fk_report_stage_moves_pipeline_id_pipelines')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_report_stage_moves_project_id_projects')),
        sa.ForeignKeyConstraint(['to_stage_id'], ['stages.id'],
                                name=op.f('fk_report_stage_moves_to_stage_id_stages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_stage_moves')),
        sa.UniqueConstraint('change_id', name=op.f('uq_report_stage_moves_change_id')),
    )
    op.create_index('ix_report_stage_moves_project_pipeline_at', 'report_stage_moves',
                    ['project_id', 'pipeline_id', 'at'])
    op.create_index('ix_report_stage_moves_deal_at', 'report_stage_moves', ['deal_id', 'at'])
    op.create_index('ix_activities_first_done_contact', 'activities',
                    ['client_id', 'project_id', 'status', 'starts_at'])
    op.execute(
        "INSERT INTO report_stage_moves (change_id, deal_id, project_id, pipeline_id, "
        "from_stage_id, to_stage_id, from_percent, to_percent, at, actor_id, manager_id, "
        "area_m2, amount, outcome) "
        "SELECT c.id, c.deal_id, d.project_id, ts.pipeline_id, c.from_stage_id, c.to_stage_id, "
        "fs.percent, ts.percent, c.at, c.actor_id, d.manager_id, d.area_m2, d.amount, "
        "CASE WHEN ts.is_sale THEN 'won' ELSE 'open' END "
        "FROM deal_stage_changes c JOIN deals d ON d.id = c.deal_id "
        "JOIN stages ts ON ts.id = c.to_stage_id "
        "LEFT JOIN stages fs ON fs.id = c.from_stage_id ORDER BY c.id"
    )


def downgrade():
    op.drop_index('ix_activities_first_done_contact', table_name='activities')
    op.drop_index('ix_report_stage_moves_deal_at', table_name='report_stage_moves')
    op.drop_index('ix_report_stage_moves_project_pipeline_at', table_name='report_stage_moves')
    op.drop_table('report_stage_moves')
