"""deals: the next-contact date becomes a planned contact; the column goes

Revision ID: 0010_next_contact
Revises: 0009_money
Create Date: 2026-12-07 08:20:00

A deal's next step is now its nearest planned contact (an activity). Every open deal's date that
is still ahead becomes a planned call that day at 10:00 Moscow (07:00 UTC) unless the deal has a
planned contact already, so no typed date is lost; then the column is dropped.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0010_next_contact'
down_revision = '0009_money'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    call = bind.execute(sa.text(
        "SELECT id, default_minutes FROM activity_types WHERE is_active = :yes "
        "ORDER BY CASE WHEN code = 'call' THEN 0 ELSE 1 END, position LIMIT 1"
    ), {"yes": True}).first()
    rows = bind.execute(sa.text(
        "SELECT d.id, d.title, d.client_id, d.contact_id, d.project_id, d.manager_id, "
        "d.next_contact_date FROM deals d "
        "WHERE d.outcome = 'open' AND d.next_contact_date >= :today AND NOT EXISTS ("
        "SELECT 1 FROM activities a WHERE a.deal_id = d.id AND a.status = 'planned')"
    ), {"today": dt.date.today()}).all()
    if call is not None and rows:
        activities = sa.table(
            'activities', sa.column('type_id'), sa.column('goal'), sa.column('client_id'),
            sa.column('contact_id'), sa.column('deal_id'), sa.column('project_id'),
            sa.column('responsible_id'), sa.column('starts_at', sa.DateTime(timezone=True)),
            sa.column('duration_minutes'), sa.column('reminders', sa.JSON()),
            sa.column('status'),
        )
        op.bulk_insert(activities, [
            {
                'type_id': call.id,
                'goal': f"Следующий шаг по сделке «{row.title}»"[:500],
                'client_id': row.client_id,
                'contact_id': row.contact_id,
                'deal_id': row.id,
                'project_id': row.project_id,
                'responsible_id': row.manager_id,
                'starts_at': dt.datetime.combine(
                    row.next_contact_date if isinstance(row.next_contact_date, dt.date)
                    else dt.date.fromisoformat(str(row.next_contact_date)),
                    dt.time(7, 0), tzinfo=dt.timezone.utc,
                ),
                'duration_minutes': call.default_minutes,
                'reminders': [15],
                'status': 'planned',
            }
            for row in rows
        ])
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_column('next_contact_date')


def downgrade():
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_contact_date', sa.Date(), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    day = "date(a.starts_at)" if sqlite else "CAST(a.starts_at AS DATE)"
    op.execute(
        f"UPDATE deals SET next_contact_date = (SELECT MIN({day}) "
        "FROM activities a WHERE a.deal_id = deals.id AND a.status = 'planned')"
    )
