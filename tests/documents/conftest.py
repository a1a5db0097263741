"""The documents tests' organization (valid requisites) and its admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.organizations.models import Organization
from tests.fixtures.organizations import VALID


@pytest.fixture
def org(db_session: Session, make_user) -> Organization:
    from erp_crm.organizations import services as org_services

    admin = make_user("admin", username="docadmin")
    return org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )


@pytest.fixture
def admin(db_session, org):
    from erp_crm.auth.models import User

    return db_session.scalar(select(User).where(User.username == "docadmin"))
