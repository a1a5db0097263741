"""Forms of the client import pages: shape only, the importer does the real checks."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from erp_crm.clients.importing import FIELD_LABELS
from erp_crm.core.forms import AppForm, choices


class ImportUploadForm(AppForm):
    file = FileField(
        "Файл с контрагентами (CSV или XLSX)", validators=[FileRequired("Выберите файл.")]
    )
    note = StringField("Комментарий", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Загрузить")


class MappingForm(AppForm):
    """One select per column of the file (col_0, col_1, …), added by `mapping_form`."""

    dry_run = SubmitField("Проверить (пробный прогон)")
    run = SubmitField("Импортировать")

    def column_fields(self) -> list[SelectField]:
        return [f for name, f in self._fields.items() if name.startswith("col_")]

    def mapping(self) -> dict[int, str]:
        """Column index -> field, as submitted ("" = the column is not loaded)."""
        return {
            int(name[4:]): f.data
            for name, f in self._fields.items()
            if name.startswith("col_") and f.data
        }


def mapping_form(header: list[str], current: dict[int, str]) -> MappingForm:
    """A MappingForm with a select per column, preset to `current` (the saved or suggested map)."""
    options = choices([("", "— не загружать —"), *FIELD_LABELS.items()])

    class _Form(MappingForm):
        pass

    for index, title in enumerate(header):
        # Unknown values are reported by the importer in Russian, not by WTForms in English.
        select = SelectField(
            title, choices=options, default=current.get(index, ""), validate_choice=False
        )
        setattr(_Form, f"col_{index}", select)
    return _Form()
