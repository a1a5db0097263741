"""activities: a partial index of the planned contacts by responsible and start («Мой день»,
overdue, the department's day)

Revision ID: 0022_activity_indexes
Revises: 0020_report_counters
Create Date: 2026-12-07 16:00:00

Planned contacts are a small part of a user's history (the past is done or cancelled): the
overdue list read (responsible_id, starts_at) and skipped every done row before the first
planned one; this index holds the planned rows only.
"""

from alembic import op
import sqlalchemy as sa


revision = '0022_activity_indexes'
down_revision = '0020_report_counters'
branch_labels = None
depends_on = None

WHERE = sa.text("status = 'planned'")


def upgrade():
    op.create_index(
        'ix_activities_planned_responsible_start', 'activities', ['responsible_id', 'starts_at'],
        unique=False, sqlite_where=WHERE, postgresql_where=WHERE,
    )


def downgrade():
    op.drop_index('ix_activities_planned_responsible_start', table_name='activities')
