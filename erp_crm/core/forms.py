"""Form helpers shared by every area: domain field errors shown in place."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from erp_crm.errors import ValidationError


def apply_errors(form: FlaskForm, error: ValidationError) -> None:
    """Attach a service's field messages to the form's fields (unknown keys go to form errors)."""
    for name, message in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*list(field.errors or []), message]
        else:
            form.form_errors.append(message)
    if not error.fields:
        form.form_errors.append(error.message)


def form_values(form: FlaskForm, *exclude: str) -> dict:
    """The submitted values without the CSRF token and buttons."""
    skip = {"csrf_token", "submit", *exclude}
    return {name: field.data for name, field in form._fields.items() if name not in skip}


def choices(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs; enum values are used as they are."""
    return [SelectChoice(str(getattr(value, "value", value)), label) for value, label in pairs]


def form_status(*forms: FlaskForm) -> int:
    """422 when a re-rendered form carries errors (the request then rolls back), else 200."""
    return 422 if any(f.errors or f.form_errors for f in forms) else 200
