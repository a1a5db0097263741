"""A small priced project, built with the ORM, shared by the deal and lead tests."""

import datetime as dt
from decimal import Decimal as D

from erp_crm.clients import services as client_services
from erp_crm.projects.models import Hall, PositionSurcharge, Project, ServiceItem, Stand, StandPrice


def make_project(session, *, code="VSE27", name="ВолгаСтройЭкспо-2027", stands=4):
    project = Project(
        name=name,
        code=code,
        venue="Экспо-Волга",
        city="Самара",
        opening_date=dt.date(2027, 3, 10),
        closing_date=dt.date(2027, 3, 12),
        status="selling",
        registration_fee=D("15000.00"),
    )
    session.add(project)
    session.flush()
    hall = Hall(project_id=project.id, name="Павильон 1", width_m=D("60"), depth_m=D("40"))
    session.add(hall)
    session.add_all(
        [
            StandPrice(project_id=project.id, stand_type="raw", price_per_m2=D("9500.00")),
            StandPrice(project_id=project.id, stand_type="shell", price_per_m2=D("12000.00")),
            PositionSurcharge(
                project_id=project.id, position="corner", kind="percent", value=D("10")
            ),
            ServiceItem(
                project_id=project.id,
                name="Электроподключение 5 кВт",
                unit="шт",
                unit_code="796",
                price=D("3750.50"),
            ),
        ]
    )
    session.flush()
    for n in range(1, stands + 1):
        session.add(
            Stand(
                project_id=project.id,
                hall_id=hall.id,
                number=f"A{n}",
                area_m2=D("12"),
                stand_type="raw",
                position="corner" if n == 1 else "row",
                x_m=D(3 * n),
                y_m=D(0),
            )
        )
    session.flush()
    return project


def make_client(session, actor, name="ООО «Ромашка»", inn="7707083893"):
    return client_services.create_client(
        session, client_services.ClientData(name=name, inn=inn, city="Самара"), actor=actor
    )
