"""Shared fixtures of the mailing tests: a real SMTP server on loopback (aiosmtpd), its
settings as a config mapping, and clients with postal addresses."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest

from erp_crm.clients import contacts as contact_services
from erp_crm.mailing import addresses
from tests.deal_fixtures import make_client


class Inbox:
    """aiosmtpd handler keeping what it received; `refuse` answers every DATA with an error."""

    def __init__(self, refuse: str | None = None):
        self.mails = []
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.refuse:
            return self.refuse
        self.mails.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mail_config(port: int, **extra) -> dict:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_FROM": "crm@expo.test",
        "MAIL_USE_TLS": False,
        "MAIL_SECURITY": "none",
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_TIMEOUT": 5,
        "APP_BASE_URL": "http://crm.test",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "MAIL_MAX_ATTEMPTS": 3,
        "MAIL_BACKOFF_SECONDS": 60,
        "MAIL_RATE_PER_MINUTE": 60,
        **extra,
    }


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    servers = []

    def start(refuse: str | None = None):
        inbox = Inbox(refuse)
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return inbox, mail_config(port)

    yield start
    for controller in servers:
        controller.stop()


ADDRESS = {
    "postcode": "443110",
    "region": "Самарская обл.",
    "city": "г. Самара",
    "street": "ул. Мичурина",
    "building": "д. 23А",
    "office": "оф. 5",
}


def client_with_address(session, actor, name, inn, *, consent=True, email=None, **parts):
    client = make_client(session, actor, name=name, inn=inn)
    client.mailing_consent = consent
    addresses.set_address(
        session, client, addresses.AddressData(**{**ADDRESS, **parts}), actor=actor
    )
    if email:
        contact_services.add_contact(
            session,
            client,
            contact_services.ContactData(
                full_name=f"Иванов ({name})", position="Директор", emails=[email]
            ),
            actor=actor,
        )
    session.flush()
    return client
