"""The pipelines admin's forms: only shapes; pipelines/services.py checks the rules."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from erp_crm.core.forms import AppForm, choices
from erp_crm.deals.pipelines.services import TRIGGERS


class PipelineForm(AppForm):
    name = StringField("Название", validators=[DataRequired("Укажите название."), Length(max=200)])
    code = StringField("Код (латиницей, необязательно)", validators=[Optional(), Length(max=32)])


class RenameForm(AppForm):
    name = StringField("Название", validators=[DataRequired("Укажите название."), Length(max=200)])


class StageEditForm(AppForm):
    name = StringField(
        "Название этапа", validators=[DataRequired("Укажите название."), Length(max=200)]
    )
    percent = StringField("Процент (0–100)", validators=[DataRequired("Укажите процент.")])
    position = StringField("Порядок (номер в воронке)", validators=[Optional()])
    is_sale = BooleanField("Этап продажи (договор подписан и далее)")
    requires_next_contact = BooleanField("Нужна дата следующего контакта")
    trigger = SelectField(
        "Событие, переводящее сделку на этап",
        choices=choices([("", "— нет —"), *TRIGGERS.items()]),
        default="",
    )


class MoveForm(AppForm):
    direction = HiddenField(validators=[DataRequired()])
