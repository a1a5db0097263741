"""Demo mailing data: structured postal addresses for most demo clients (from their legal
address, with the city's postcode range), two letters come back, a saved selection and a
campaign ready to print."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.mailing import addresses, selections

# The first digits of the postcodes of the demo cities (Почта России's ranges).
POSTCODES = {
    "Самара": "443",
    "Тольятти": "445",
    "Сызрань": "446",
    "Казань": "420",
    "Ульяновск": "432",
    "Саратов": "410",
    "Пенза": "440",
    "Оренбург": "460",
    "Уфа": "450",
    "Нижний Новгород": "603",
    "Москва": "101",
    "Санкт-Петербург": "190",
    "Екатеринбург": "620",
    "Чебоксары": "428",
}
SHARE = 0.9


def load_demo_mailing(session: Session, users: dict[str, User]) -> int:
    """Addresses for ~90 % of the demo clients; returns how many were given one."""
    analyst = users["analyst"]
    rng = random.Random(16)
    clients = session.scalars(
        select(Client).where(Client.merged_into_id.is_(None)).order_by(Client.id)
    ).all()
    given = []
    for client in clients:
        if rng.random() > SHARE or not client.legal_address:
            continue
        parts = [p.strip() for p in client.legal_address.split(",")]
        if len(parts) < 3 or parts[0] not in POSTCODES:
            continue
        city, street, building = parts[0], parts[1], parts[2]
        row = addresses.set_address(
            session,
            client,
            addresses.AddressData(
                postcode=f"{POSTCODES[city]}{rng.randint(0, 140):03d}",
                region=client.region if client.region != city else None,
                city=f"г. {city}",
                street=street,
                building=building,
                office=f"оф. {rng.randint(1, 450)}" if rng.random() < 0.6 else None,
            ),
            actor=analyst,
        )
        given.append(row)
    for row, reason in zip(given[7:50:21], ("moved", "no_such_address"), strict=False):
        addresses.mark_returned(session, row, reason, actor=analyst)
    selection = selections.save_selection(
        session,
        name="Самарская область, согласие на рассылку",
        filter_args={"region": "Самарская область", "mailing_consent": "yes"},
        actor=analyst,
    )
    selections.create_campaign(
        session, selection, name="Приглашение на ВолгаСтройЭкспо", channel="post", actor=analyst
    )
    session.flush()
    return len(given)
