"""The projects area's pages, one module per page group.

The /projects blueprint ("projects", common.py, with the helpers the pages share) is filled by
projects.py (projects, halls, the price list, the services catalog) and stands.py (the stands
list, create/edit, the import, the hall plan and its PDF); the deals area's views/booking.py adds
the stand page with its booking forms. plans.py keeps its own blueprint ("plans", /plans: the
sales plans and plan vs actual).
"""

from erp_crm.projects.views import projects, stands
from erp_crm.projects.views.common import bp as projects_bp
from erp_crm.projects.views.plans import bp as plans_bp

__all__ = ["plans_bp", "projects", "projects_bp", "stands"]
