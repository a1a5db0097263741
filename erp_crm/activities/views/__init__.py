"""The activities' pages: contacts («Мой день», planning, completing), requests to colleagues,
ratings and the catalogs on the `activities` blueprint (common.py); the calendar and the
reminders on blueprints of their own."""

from erp_crm.activities.views import catalogs, contacts, ratings, tasks  # noqa: F401
from erp_crm.activities.views.calendar import bp as calendar_bp
from erp_crm.activities.views.common import bp
from erp_crm.activities.views.reminders import bp as reminders_bp

__all__ = ["bp", "calendar_bp", "reminders_bp"]
