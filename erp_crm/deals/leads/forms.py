"""Lead forms: shape checks only; `deals.leads` does the real validation."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from erp_crm.core.forms import AppForm, choices
from erp_crm.deals.models import MANUAL_SOURCES


class PublicLeadForm(AppForm):
    company_name = StringField("Компания", validators=[Length(max=300)])
    inn = StringField("ИНН (если знаете)", validators=[Optional(), Length(max=20)])
    contact_name = StringField("Контактное лицо", validators=[Optional(), Length(max=300)])
    phone = StringField("Телефон", validators=[Optional(), Length(max=64)])
    email = StringField("Электронная почта", validators=[Optional(), Length(max=254)])
    city = StringField("Город", validators=[Optional(), Length(max=120)])
    project_id = SelectField("Выставка", choices=[], validators=[Optional()])
    message = TextAreaField("Комментарий", validators=[Optional(), Length(max=5000)])
    # The honeypot: hidden from people (off screen, not focusable); bots fill every field.
    homepage = StringField("Сайт компании (не заполняйте)", validators=[Optional()])


class LeadForm(AppForm):
    source = SelectField("Источник", choices=choices(MANUAL_SOURCES.items()), default="call")
    company_name = StringField("Компания", validators=[Length(max=300)])
    inn = StringField("ИНН", validators=[Optional(), Length(max=20)])
    contact_name = StringField("Контактное лицо", validators=[Optional(), Length(max=300)])
    phone = StringField("Телефон", validators=[Optional(), Length(max=64)])
    email = StringField("Электронная почта", validators=[Optional(), Length(max=254)])
    city = StringField("Город", validators=[Optional(), Length(max=120)])
    project_id = SelectField("Выставка", choices=[], validators=[Optional()])
    message = TextAreaField("Комментарий", validators=[Optional(), Length(max=5000)])


class RejectForm(AppForm):
    reason = StringField("Причина отклонения", validators=[Length(max=300)])


class ConvertForm(AppForm):
    # "" — let the system decide (ИНН match or a new client when nothing is alike),
    # "new" — a new client even though similar ones exist, or a candidate's id.
    client_choice = RadioField("Контрагент", choices=[], validate_choice=False, default="")
    project_id = SelectField("Проект", choices=[], validators=[Optional()])
    create_contact = BooleanField("Добавить контактное лицо из лида", default=True)
