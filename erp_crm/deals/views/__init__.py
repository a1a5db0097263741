"""The deals area's pages, one module per page group.

The /deals blueprint ("deals", common.py) is filled by listing.py (the list, a new deal),
card.py (the card: details, stage, losing) and lines.py (the priced lines and the discount).
kanban.py keeps its own blueprint ("kanban", /kanban); booking.py registers the stand page and
its reserve / release forms on the projects area's blueprint (endpoints projects.stand_*), since
booking a stand with a deal is this area's job.
"""

from erp_crm.deals.views import booking, card, lines, listing
from erp_crm.deals.views.common import bp as deals_bp
from erp_crm.deals.views.kanban import bp as kanban_bp

__all__ = ["booking", "card", "deals_bp", "kanban_bp", "lines", "listing"]
