"""Imports every model module, so the metadata (and Alembic's autogenerate) sees all tables."""

from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import ApiToken, LoginAttempt, User
from erp_crm.clients.models import (
    Client,
    ClientGroup,
    CompetitorExhibition,
    CompetitorParticipation,
    ContactChannel,
    ContactPerson,
    ImportJob,
    SavedFilter,
)
from erp_crm.organizations.models import Organization

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Client",
    "ClientGroup",
    "CompetitorExhibition",
    "CompetitorParticipation",
    "ContactChannel",
    "ContactPerson",
    "ImportJob",
    "LoginAttempt",
    "Organization",
    "SavedFilter",
    "User",
]
