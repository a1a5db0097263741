"""Form helpers shared by every area: Russian messages, length limits, domain errors in place."""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms.i18n import get_translations
from wtforms.validators import Length

from erp_crm.db import column_length
from erp_crm.errors import ValidationError

# Messages WTForms' Russian catalog lacks (or has only as fuzzy, which gettext skips).
_OVERRIDES = {
    "Not a valid choice.": "Выберите значение из списка.",
    "This field cannot be edited.": "Это поле нельзя изменить.",
    "'%(value)s' is not a valid choice for this field.": "«%(value)s» — неверный вариант.",
    "'%(value)s' are not valid choices for this field.": "«%(value)s» — неверные варианты.",
    # the catalog says «больше»/«меньше» where the bound itself is allowed
    "Number must be at least %(min)s.": "Число должно быть не меньше %(min)s.",
    "Number must be at most %(max)s.": "Число должно быть не больше %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Число должно быть от %(min)s до %(max)s.",
}


class RussianTranslations:
    """WTForms' own Russian catalog (wtforms/locale/ru) with the gaps above filled.

    Flask-WTF translates only through Flask-Babel, which the project does not use: without this
    the built-in messages («Not a valid date value.», «Not a valid choice.») stay English.
    """

    def __init__(self) -> None:
        try:
            self._catalog: Any = get_translations(["ru"])
        except OSError:  # a WTForms build without its catalogs: the overrides only
            self._catalog = gettext.NullTranslations()

    def gettext(self, string: str) -> str:
        return _OVERRIDES.get(string) or self._catalog.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        override = _OVERRIDES.get(singular if n == 1 else plural)
        return override or self._catalog.ngettext(singular, plural, n)


RUSSIAN = RussianTranslations()


class AppForm(FlaskForm):
    """The project's base form: WTForms' built-in messages in Russian, and no NUL characters
    (which PostgreSQL cannot store in text) in any field."""

    class Meta:
        def get_translations(self, form: Any) -> RussianTranslations:
            return RUSSIAN

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                message = f"Недопустимый символ в поле «{field.label.text}»: нулевой символ (\\0)."
                field.errors = [*field.errors, message]
                valid = False
        return valid


def too_long_message(limit: int) -> str:
    return f"Слишком длинное значение: не больше {limit} символов."


def max_length(column: Any) -> Length:
    """A Length validator with the column's own limit, so the form never drifts from the table."""
    limit = column_length(column)
    if limit is None:
        raise ValueError(f"{column} has no length limit")
    return Length(max=limit, message=too_long_message(limit))


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
