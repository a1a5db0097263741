"""jobs: job requests and periodic runs of the job engine (huey)

Revision ID: 0011_jobs
Revises: 0019_outbox_invalid
Create Date: 2026-12-07 11:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_jobs'
down_revision = '0019_outbox_invalid'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('progress_done', sa.Integer(), nullable=False),
        sa.Column('progress_total', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'cancelled')",
            name=op.f('ck_job_requests_status_known'),
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_job_requests_created_by_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_requests')),
    )
    with op.batch_alter_table('job_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_requests_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_requests_status'), ['status'], unique=False)
    op.create_table(
        'job_period_runs',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('slot', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f('ck_job_period_runs_status_known')
        ),
        sa.PrimaryKeyConstraint('name', 'slot', name=op.f('pk_job_period_runs')),
    )


def downgrade():
    op.drop_table('job_period_runs')
    with op.batch_alter_table('job_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_requests_status'))
        batch_op.drop_index(batch_op.f('ix_job_requests_name'))
    op.drop_table('job_requests')
