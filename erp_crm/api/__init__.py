"""The JSON API under /api/v1: bearer tokens, the same roles and services as the pages.

routing.py holds the machinery (the blueprint, `api_route`, the operations the OpenAPI document
is built from); one module per area declares its endpoints with it, and
`register_api_modules` imports them all.
"""

from erp_crm.api.routing import (
    OPERATIONS,
    BadRequest,
    Operation,
    api_route,
    api_user,
    bp,
    json_body,
)

__all__ = [
    "OPERATIONS",
    "BadRequest",
    "Operation",
    "api_route",
    "api_user",
    "bp",
    "json_body",
    "register_api_modules",
]


def register_api_modules() -> None:
    """Import the modules that declare endpoints (once; they register on import)."""
    from erp_crm.api import (  # noqa: F401
        activities,
        activities_ratings,
        activities_tasks,
        auth,
        billing,
        budgets,
        clients,
        clients_duplicates,
        clients_transfer,
        deals,
        documents,
        leads,
        mailing,
        openapi,
        organizations,
        pipelines,
        project_catalogs,
        projects,
        reports,
        users,
    )
