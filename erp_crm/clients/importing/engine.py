"""Applying rows to the client base: the dry run (the services' checks, nothing written) and
the run (written in bulk by `bulk.BatchWriter`), one batch at a time, with the report.

A row becomes a create, an update or a reject with the services' Russian messages. Clients and
contacts are written only through `services` and `bulk` as the acting user, so audit rows and
curator rules apply. Re-importing a file updates the clients it created and merges contacts
(matched by normalized name) and their channels. `import_file` runs a whole file in the
caller's transaction (the API); job.py runs one in the background (the pages).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, bulk, contacts, services
from erp_crm.clients.importing.mapping import resolve_mapping
from erp_crm.clients.importing.matching import Batch, Overlay, Shadow, find_target
from erp_crm.clients.importing.reading import PREVIEW_ROWS, batched, open_table, padded_header
from erp_crm.clients.importing.rows import ParsedRow, RowParser, check_contact, validate_contact
from erp_crm.clients.models import Client, ClientKind
from erp_crm.core import text
from erp_crm.errors import DomainError, PermissionDenied, ValidationError

log = logging.getLogger(__name__)

BATCH_SIZE = 500
REPORT_DETAIL_ROWS = 1000  # created/updated rows listed in the report; rejected rows: all


def batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
    """The rows in batches of BATCH_SIZE (read when called: a test may change it)."""
    return batched(rows, BATCH_SIZE)


@dataclass
class Outcome:
    row: int
    action: str  # create | update | reject
    client_id: int | None = None
    name: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "action": self.action,
            "client_id": self.client_id,
            "name": self.name,
            "errors": self.errors,
        }


@dataclass
class Summary:
    """Counts and the row-by-row report: every rejected row, created/updated only at the start."""

    total: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        if outcome.action == "create":
            self.created += 1
        elif outcome.action == "update":
            self.updated += 1
        else:
            self.rejected += 1
        if outcome.action == "reject" or self.total <= REPORT_DETAIL_ROWS:
            self.rows.append(outcome.as_dict())

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "dry_run": dry_run,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "rows": self.rows,
        }


class _HalfWritten(Exception):
    """A row failed after its client was written: the batch is redone row by row."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class Engine:
    """Parses, matches and applies rows; keeps the summary of one import."""

    def __init__(self, mapping: dict[int, str], *, dry_run: bool):
        self.parser = RowParser(mapping)
        self.dry_run = dry_run
        self.summary = Summary()
        # Dry run: what the rows so far would have created and changed (see Overlay).
        self.overlay: Overlay | None = Overlay() if dry_run else None
        self.active_users: set[int] = set()  # the dry run's check of curators
        self._unnumbered: list[tuple[Outcome, Client]] = []  # created rows awaiting their ids
        self.before_write: Callable[[], None] | None = None  # called as a batch's writes begin

    def load_curators(self, session: Session) -> None:
        self.parser.load_curators(session)

    def prepare(self, batch: list[tuple[int, list[str | None]]]) -> list[ParsedRow]:
        """Parse a batch's rows and check their contacts: no database, no app, so it may run
        in a thread ahead of process_batch (see job._ReadAhead)."""
        rows = [self.parser.parse(number, cells) for number, cells in batch]
        for row in rows:
            # A row with errors is rejected before its contact is looked at.
            if row.contact is not None and not row.errors:
                row.checked_contact = check_contact(row.contact)
        return rows

    def process_batch(
        self,
        session: Session,
        batch: list[tuple[int, list[str | None]]],
        *,
        actor: User,
        parsed: list[ParsedRow] | None = None,
    ) -> list[Outcome]:
        """Apply a batch; `parsed` is prepare()'s result for it, when it was made ahead."""
        rows = parsed if parsed is not None else [self.parser.parse(n, cells) for n, cells in batch]
        overlay = self.overlay
        if overlay is not None:
            overlay.begin()
        try:
            with session.begin_nested():
                outcomes = self._apply(session, rows, actor)
        except (SQLAlchemyError, _HalfWritten) as err:
            log.warning("client import: batch redone row by row after %r", err)
            if overlay is not None:
                overlay.undo()
            outcomes = []
            for row in rows:
                mark = overlay.mark() if overlay is not None else 0
                try:
                    with session.begin_nested():
                        outcomes.extend(self._apply(session, [row], actor))
                except _HalfWritten as failed:
                    if overlay is not None:
                        overlay.undo(mark)
                    outcomes.append(Outcome(row.number, "reject", errors=failed.errors))
                except SQLAlchemyError:
                    if overlay is not None:
                        overlay.undo(mark)
                    log.exception("client import: row %s failed", row.number)
                    outcomes.append(
                        Outcome(
                            row.number,
                            "reject",
                            errors={"row": "Строку не удалось сохранить: ошибка базы данных."},
                        )
                    )
        for outcome in outcomes:
            self.summary.add(outcome)
        return outcomes

    def _apply(self, session: Session, rows: list[ParsedRow], actor: User) -> list[Outcome]:
        batch = Batch(session, rows, overlay=self.overlay, with_contacts=not self.dry_run)
        if self.dry_run:
            self.active_users = bulk.active_user_ids(session)
            return [self._row(session, row, batch, actor, None) for row in rows]
        writer = bulk.BatchWriter(session, actor, batch.existing())
        self._unnumbered: list[tuple[Outcome, Client]] = []
        outcomes = [self._row(session, row, batch, actor, writer) for row in rows]
        if self.before_write is not None:
            self.before_write()
        self._write(writer)
        return outcomes

    def _write(self, writer: bulk.BatchWriter) -> None:
        writer.flush()
        for outcome, client in self._unnumbered:
            outcome.client_id = client.id
        self._unnumbered = []

    def _persistent(
        self, session: Session, client: Client, batch: Batch, writer: bulk.BatchWriter
    ) -> Client:
        """A client this batch created, written now and loaded, for a later row that updates it."""
        self._write(writer)
        loaded = session.get(Client, client.id)
        assert loaded is not None
        batch.replace(client, loaded)
        batch.reload_contacts(session, loaded.id)
        return loaded

    def _row(
        self,
        session: Session,
        row: ParsedRow,
        batch: Batch,
        actor: User,
        writer: bulk.BatchWriter | None,
    ) -> Outcome:
        name = row.changes.get("name")
        if row.errors:
            return Outcome(row.number, "reject", name=name, errors=dict(row.errors))
        target, errors = find_target(row, batch)
        if errors:
            return Outcome(row.number, "reject", name=name, errors=errors)
        contact = None
        if row.contact is not None:
            checked = row.checked_contact
            try:
                if isinstance(checked, ValidationError):
                    raise checked
                contact = checked or validate_contact(session, row.contact)
            except ValidationError as err:
                errors = {**_new_client_errors(row, target), **_contact_errors(err)}
                return Outcome(row.number, "reject", name=name, errors=errors)
        if writer is None:
            return self._check(row, target, batch, actor)
        if target is not None and writer.is_pending(target):
            target = self._persistent(session, target, batch, writer)
        if target is None:
            data = _new_client_data(row)
            action = "create"
            try:
                client = writer.create_client(
                    data,
                    external_id_owner=batch.external_id_owner,
                    with_contact=contact is not None,
                )
            except bulk.ContactDenied as err:
                return Outcome(row.number, "reject", errors=_contact_errors(err))
            except DomainError as err:
                return Outcome(row.number, "reject", name=name, errors=_errors(err))
            batch.remember(client)
        else:
            client = target
            data = services.ClientData.from_model(client).merged_with(row.changes)
            action = "update"
            try:
                # A contact that is new to the client needs the right to edit the client.
                new_contact = contact is not None and text.normalize(contact.full_name)[
                    :300
                ] not in batch.contacts.get(client.id, {})
                writer.update_client(
                    client,
                    data,
                    external_id_owner=batch.external_id_owner,
                    with_contact=new_contact,
                )
            except bulk.ContactDenied as err:
                return Outcome(row.number, "reject", errors=_contact_errors(err))
            except DomainError as err:
                return Outcome(row.number, "reject", client.id, client.name, _errors(err))
            batch.reindex(client)  # later rows find it by its new ИНН/КПП, code and name
        if contact is not None:
            try:
                self._contact(session, client, contact, batch, actor, writer)
            except DomainError as err:
                raise _HalfWritten(_contact_errors(err)) from err
        outcome = Outcome(row.number, action, client.id, client.name)
        if client.id is None:
            self._unnumbered.append((outcome, client))
        return outcome

    def _check(self, row: ParsedRow, target: Any, batch: Batch, actor: User) -> Outcome:
        """The dry run: the services' validation and rules, nothing written; what the row would
        create or change is remembered in the overlay for the rows after it."""
        overlay = self.overlay
        assert overlay is not None
        if target is None:
            data = _new_client_data(row)
            state = None
        else:
            state = batch.state(target)
            if isinstance(state, Shadow) and state.id is None:  # the file creates it
                base = state.data()
            else:  # an existing client, as the rows before would have changed it
                base = services.ClientData.from_model(target)
                if state is not target:
                    base = state.applied_to(base)
            data = base.merged_with(row.changes)
        client_id = target.id if target is not None else None
        errors: dict[str, str] = {}
        if state is None and not has_permission(actor, Perm.CLIENTS_CREATE):
            errors["row"] = PermissionDenied.default_message
        if state is not None and not access.can_edit_client(actor, state):
            errors["row"] = bulk.EDIT_DENIED
        try:
            # No external-id clash is possible: the code was looked up first and matched.
            cleaned = services.check_client(
                replace(data, external_id=None),
                client_id,
                curator_active=self.active_users.__contains__,
                external_id_owner=lambda _code: None,
            )
            if (
                state is not None
                and cleaned.curator_id != state.curator_id
                and not access.can_change_curator(actor)
            ):
                errors["curator_id"] = bulk.CURATOR_CHANGE_DENIED
        except ValidationError as err:
            errors.update(_errors(err))
        if errors:
            return Outcome(row.number, "reject", client_id, data.name, errors)
        after = cleaned  # a new object: check_client's cleaned copy
        after.external_id = data.external_id
        if target is None:
            if not access.can_change_curator(actor):
                after.curator_id = actor.id  # as create_client does
            batch.remember(overlay.add(None, after))
            return Outcome(row.number, "create", None, data.name)
        if isinstance(state, Shadow):
            overlay.change(state, after)
            batch.reindex(target)
        elif Shadow.values_of(after) != Shadow.values_of(target):
            overlay.add(target.id, after)
            batch.reindex(target)
        return Outcome(row.number, "update", client_id, data.name)

    def _contact(
        self,
        session: Session,
        client: Client,
        data: contacts.ContactData,
        batch: Batch,
        actor: User,
        writer: bulk.BatchWriter,
    ) -> None:
        """Add the contact, or merge phones/e-mails into the one with the same normalized name."""
        if writer.is_pending(client):  # created by this row: it has no contacts yet
            writer.add_contact(client, data, data.phones, data.emails)
            return
        known = batch.contacts.setdefault(client.id, {})
        key = text.normalize(data.full_name)[:300]
        existing = known.get(key)
        if existing is not None and writer.is_pending(existing):  # added by an earlier row
            self._write(writer)
            batch.reload_contacts(session, client.id)
            known = batch.contacts[client.id]
            existing = known.get(key)
        if existing is None:
            known[key] = writer.add_contact(client, data, data.phones, data.emails)
            return
        phones = existing.phones + [p for p in data.phones if p not in existing.phones]
        emails = existing.emails + [e for e in data.emails if e not in existing.emails]
        position = data.position or existing.position
        if (phones, emails, position) == (existing.phones, existing.emails, existing.position):
            return
        merged = contacts.ContactData(
            full_name=existing.full_name,
            position=position,
            phones=phones,
            emails=emails,
            birthday=existing.birthday,
            notes=existing.notes,
            curator_id=existing.curator_id,
        )
        contacts.update_contact(session, existing, merged, actor=actor)


def _guess_kind(data: services.ClientData) -> str:
    inn = re.sub(r"\D", "", data.inn or "")
    if len(inn) == 12 or (data.name or "").upper().startswith("ИП "):
        return ClientKind.SOLE_TRADER.value
    return ClientKind.LEGAL.value


def _new_client_data(row: ParsedRow) -> services.ClientData:
    """The client a row would create: its columns, the kind guessed when the file has none."""
    data = services.ClientData.from_mapping(row.changes)
    if "kind" not in row.changes:
        data.kind = _guess_kind(data)
    return data


def _new_client_errors(row: ParsedRow, target: Any) -> dict[str, str]:
    """What is wrong with the client a row would create (no name, a wrong ИНН…), for a row that
    is rejected for its contact first: the report names every problem of the row at once."""
    if target is not None:
        return {}
    data = _new_client_data(row)
    try:
        services.check_client(
            replace(data, external_id=None, curator_id=None),
            None,
            curator_active=lambda _user_id: True,
            external_id_owner=lambda _code: None,
        )
    except ValidationError as err:
        return _errors(err)
    return {}


def _errors(err: DomainError) -> dict[str, str]:
    return dict(err.fields) if err.fields else {"row": err.message}


def _contact_errors(err: DomainError) -> dict[str, str]:
    if not err.fields:
        return {"row": err.message}
    return {f"contact.{key}": message for key, message in err.fields.items()}


def import_file(
    session: Session,
    path: Path,
    filename: str,
    *,
    overrides: dict[str, Any] | None = None,
    dry_run: bool = True,
    actor: User,
) -> dict[str, Any]:
    """Import (or check) a whole file in the caller's transaction; returns the report."""
    if not has_permission(actor, Perm.CLIENTS_IMPORT):
        raise PermissionDenied()
    with open_table(path, filename) as table:
        # The columns the page would show (the header and the first rows), as start_run checks.
        head = list(itertools.islice(table.rows, PREVIEW_ROWS))
        header = padded_header(table.header, [cells for _, cells in head])
        engine = Engine(resolve_mapping(header, overrides), dry_run=dry_run)
        engine.load_curators(session)
        for batch in batches(itertools.chain(head, table.rows)):
            engine.process_batch(session, batch, actor=actor)
    return engine.summary.as_dict(dry_run=dry_run)
