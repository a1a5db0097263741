"""Imports every model module, so the metadata (and Alembic's autogenerate) sees all tables."""

import erp_crm.activities.models  # noqa: F401  (contacts, results, ratings, requests)
import erp_crm.backup  # noqa: F401  (the periodic backup job)
import erp_crm.billing.models  # noqa: F401  (payments)
import erp_crm.budgets.models  # noqa: F401  (budget tables)
import erp_crm.integration.models  # noqa: F401  (outbox, exchange state and log)
import erp_crm.jobs.models  # noqa: F401  (job requests, periodic runs)
import erp_crm.mailing.models  # noqa: F401  (addresses, selections, campaigns, mail outbox)
import erp_crm.reports.models  # noqa: F401  (the stage-transition ledger)
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
from erp_crm.deals.models import (
    Deal,
    DealLine,
    DealStageChange,
    Lead,
    LostReason,
    Pipeline,
    Stage,
)
from erp_crm.organizations.models import Organization
from erp_crm.projects.models import (
    Hall,
    PositionSurcharge,
    Project,
    ProjectMember,
    SalesPlan,
    ServiceItem,
    Stand,
    StandPrice,
)
from erp_crm.sales_documents.models import (
    Document,
    DocumentCounter,
    DocumentFile,
    DocumentTemplate,
    NumberFormat,
    PrintJob,
    ProjectManual,
)

__all__ = [
    "Document",
    "DocumentCounter",
    "DocumentFile",
    "DocumentTemplate",
    "NumberFormat",
    "PrintJob",
    "ProjectManual",
    "ApiToken",
    "AuditEntry",
    "Client",
    "ClientGroup",
    "CompetitorExhibition",
    "CompetitorParticipation",
    "ContactChannel",
    "ContactPerson",
    "Deal",
    "DealLine",
    "DealStageChange",
    "Hall",
    "Lead",
    "LostReason",
    "Pipeline",
    "PositionSurcharge",
    "Project",
    "ProjectMember",
    "SalesPlan",
    "ServiceItem",
    "Stage",
    "Stand",
    "StandPrice",
    "ImportJob",
    "LoginAttempt",
    "Organization",
    "SavedFilter",
    "User",
]
