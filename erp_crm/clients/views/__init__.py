"""The client base's pages, one module per page group.

The /clients blueprint ("clients", common.py) is filled by listing.py (the list, bulk group
changes, saved filters), card.py (the card, create/edit), contacts.py, competitors.py
(participations, the directory) and reassign.py. Three page groups keep blueprints of their own,
so their endpoints stay as they were: duplicates.py ("client_duplicates": duplicates, merge,
undo), transfer.py ("client_transfer": import and export) and groups.py ("groups", under
/groups).
"""

from erp_crm.clients.views import card, competitors, contacts, listing, reassign
from erp_crm.clients.views.common import bp as clients_bp
from erp_crm.clients.views.duplicates import bp as duplicates_bp
from erp_crm.clients.views.groups import bp as groups_bp
from erp_crm.clients.views.transfer import bp as transfer_bp

__all__ = [
    "card",
    "clients_bp",
    "competitors",
    "contacts",
    "duplicates_bp",
    "groups_bp",
    "listing",
    "reassign",
    "transfer_bp",
]
