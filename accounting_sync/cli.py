"""`flask accounting …`: the exchange with 1C and the 1C emulator for development.

Registered through the `flask.commands` entry point (pyproject.toml), so erp_crm never imports
this package. The emulator's logic lives in accounting_sync.emulator; this file only parses
options and prints.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

accounting = AppGroup("accounting", help="Обмен с 1С:Бухгалтерией (SOAP) и эмулятор 1С.")


class _Money(click.ParamType):
    """A ruble amount as Decimal ("1000.00", "1 000,50"); never a float."""

    name = "сумма"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Decimal):
            return value
        text = str(value).replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.fail(f"{value!r}: ожидается сумма, например 15000.00", param, ctx)
        if not amount.is_finite() or amount <= 0:
            self.fail("сумма должна быть положительной", param, ctx)
        return amount


_DATE = click.DateTime(formats=["%Y-%m-%d", "%d.%m.%Y"])
_db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite-файл эмулятора (по умолчанию instance/accounting_emulator.sqlite3).",
)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _storage(db_path: Path | None) -> Any:
    """The emulator's storage; the file is taken from the app's instance folder by default."""
    from accounting_sync.emulator import EmulatorStorage

    config = current_app.config
    path = (
        db_path
        or config.get("ACCOUNTING_EMULATOR_DB")
        or (Path(config["INSTANCE_PATH"]) / "accounting_emulator.sqlite3")
    )
    return EmulatorStorage(path, nodes=(config.get("ACCOUNTING_NODE") or "CRM",))


@accounting.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
@_db_option
@click.option("--user", help="Пользователь обмена (по умолчанию ACCOUNTING_USER или «Обмен»).")
@click.option("--password", help="Пароль (по умолчанию ACCOUNTING_PASSWORD или сохранённый).")
@click.option(
    "--fault",
    "fault_kinds",
    multiple=True,
    type=click.Choice(["delay", "http500", "soap_fault", "malformed", "drop", "redeliver", "dtd"]),
    help="Случайный сбой этого вида (можно повторять).",
)
@click.option("--fault-rate", default=1.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--fault-operation", help="Ограничить сбои одной операцией, например PutDocuments.")
@click.option("--fault-delay", default=5.0, show_default=True, help="Секунды для сбоя delay.")
@click.option("--delay", default=0.0, type=click.FloatRange(0), help="Задержка каждого ответа, с.")
@click.option("--seed", type=int, help="Зерно генератора случайных сбоев (повторяемость).")
def emulator_command(
    host: str,
    port: int,
    db_path: Path | None,
    user: str | None,
    password: str | None,
    fault_kinds: tuple[str, ...],
    fault_rate: float,
    fault_operation: str | None,
    fault_delay: float,
    delay: float,
    seed: int | None,
) -> None:
    """Start the 1C emulator (SOAP web service ExpoExchange) in the foreground."""
    from accounting_sync.emulator import DEFAULT_USER, EmulatorServer, FaultPlan, stored_password

    storage = _storage(db_path)
    config = current_app.config
    user = user or config.get("ACCOUNTING_USER") or DEFAULT_USER
    password = password or config.get("ACCOUNTING_PASSWORD") or stored_password(storage)
    try:
        faults = FaultPlan(
            random_kinds=fault_kinds,
            rate=fault_rate if fault_kinds else 0.0,
            random_operation=fault_operation,
            random_seconds=fault_delay,
            delay=delay,
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    server = EmulatorServer(
        storage, username=user, password=password, host=host, port=port, faults=faults
    )
    click.echo(f"Эмулятор 1С: {server.url}  (WSDL: {server.wsdl_url})")
    click.echo(f"Страница ввода платежей: {server.page_url}")
    click.echo(f"База эмулятора: {storage.path}")
    click.echo(f"Пользователь: {user}  пароль: {password}")
    click.echo(
        f"Для приложения: ACCOUNTING_URL={server.url} ACCOUNTING_USER={user} "
        f"ACCOUNTING_PASSWORD={password}"
    )
    if fault_kinds or delay:
        click.echo(f"Сбои: {faults.to_dict()}")
    click.echo("Остановка: Ctrl+C")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Эмулятор остановлен.")


@accounting.command("emulator-payment")
@click.option("--amount", required=True, type=_Money(), help="Сумма, например 15000.00.")
@click.option("--invoice", "invoice_number", help="Номер полученного эмулятором счёта.")
@click.option("--invoice-date", type=_DATE, help="Дата счёта, если номера повторяются.")
@click.option("--inn", help="ИНН плательщика (платёж без ссылки на счёт).")
@click.option("--kpp", help="КПП плательщика.")
@click.option("--payer", help="Наименование плательщика.")
@click.option("--purpose", help="Назначение платежа, как в выписке банка.")
@click.option("--date", "payment_date", type=_DATE, help="Дата платежа (по умолчанию сегодня).")
@click.option("--number", help="Номер платёжного поручения.")
@_db_option
def emulator_payment_command(
    amount: Decimal,
    invoice_number: str | None,
    invoice_date: datetime | None,
    inn: str | None,
    kpp: str | None,
    payer: str | None,
    purpose: str | None,
    payment_date: datetime | None,
    number: str | None,
    db_path: Path | None,
) -> None:
    """Enter an incoming bank payment in the emulator (sent to the app by GetChanges)."""
    from accounting_sync.emulator import EmulatorInputError

    if not invoice_number and not inn:
        raise click.UsageError("Укажите --invoice НОМЕР или --inn ИНН с --purpose.")
    try:
        payment = _storage(db_path).add_payment(
            amount=amount,
            invoice_number=invoice_number,
            invoice_date=_day(invoice_date),
            inn=inn,
            kpp=kpp,
            payer=payer,
            purpose=purpose,
            payment_date=_day(payment_date),
            number=number,
        )
    except EmulatorInputError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Платёж № {payment.number} от {payment.date:%d.%m.%Y} на {payment.amount} ₽ "
        f"от {payment.payer_name} (ИНН {payment.payer_inn}) зарегистрирован к отправке."
    )
    click.echo(f"Назначение: {payment.purpose}")
    if payment.invoice_guid:
        click.echo(f"Счёт № {payment.invoice_number}, GUID {payment.invoice_guid}")


@accounting.command("emulator-actuals")
@click.option("--today", type=_DATE, help="Считать сегодняшней эту дату (прошедшие месяцы).")
@_db_option
def emulator_actuals_command(today: datetime | None, db_path: Path | None) -> None:
    """Recompute the budget actuals in the emulator; changed ones go to the app."""
    storage = _storage(db_path)
    if today is not None:
        storage.today = lambda: today.date()
    changed = storage.recompute_actuals()
    click.echo(f"Изменено фактов бюджета: {changed}.")


# --- the exchange itself ------------------------------------------------------------------------


@accounting.command("sync")
@click.option("--batch-size", default=50, show_default=True, help="Объектов в одном пакете.")
@click.option("--page-size", default=100, show_default=True, help="Изменений на страницу.")
def sync_command(batch_size: int, page_size: int) -> None:
    """Один проход обмена: отправить очередь, получить и применить изменения из 1С."""
    from accounting_sync.sync import sync_once

    report = sync_once(
        current_app._get_current_object(),
        batch_size=batch_size,  # type: ignore[attr-defined]
        page_size=page_size,
        progress=lambda line: click.echo("  " + line),
    )
    click.echo(report.summary())
    for error in report.errors:
        click.secho(f"Ошибка: {error}", fg="red", err=True)
    if report.errors:
        raise SystemExit(1)


@accounting.command("worker")
def worker_command() -> None:
    """Постоянный обмен теперь — периодическое задание «accounting.exchange» (flask jobs worker)."""
    raise click.ClickException(
        "Обмен с 1С выполняет обработчик заданий: запустите «flask jobs worker» "
        "(период — ACCOUNTING_SYNC_SECONDS, по умолчанию 15 с)."
    )
