from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    GROUP_CATEGORY_LABELS,
    READINESS_LABELS,
    GroupKind,
)
from erp_crm.core.forms import choices


class ClientForm(FlaskForm):
    # Requisites are checked by the service: one set of rules for the page, the API and imports.
    kind = SelectField("Вид", choices=choices(CLIENT_KIND_LABELS.items()))
    name = StringField("Наименование", validators=[Length(max=300)])
    full_name = StringField("Полное наименование", validators=[Optional(), Length(max=500)])
    inn = StringField("ИНН", validators=[Optional(), Length(max=20)])
    kpp = StringField("КПП", validators=[Optional(), Length(max=20)])
    ogrn = StringField("ОГРН / ОГРНИП", validators=[Optional(), Length(max=20)])
    legal_address = TextAreaField("Юридический адрес", validators=[Optional()])
    postal_address = TextAreaField("Почтовый адрес", validators=[Optional()])
    region = StringField("Регион", validators=[Optional(), Length(max=120)])
    city = StringField("Город", validators=[Optional(), Length(max=120)])
    industry = StringField("Отрасль", validators=[Optional(), Length(max=200)])
    website = StringField("Сайт", validators=[Optional(), Length(max=300)])
    source = StringField("Источник", validators=[Optional(), Length(max=200)])
    readiness = SelectField(
        "Готовность к покупке",
        choices=choices((int(k), label) for k, (label, _) in READINESS_LABELS.items()),
    )
    curator_id = SelectField("Куратор", choices=[], validators=[Optional()])
    mailing_consent = BooleanField("Согласие на рассылку")
    notes = TextAreaField("Заметки", validators=[Optional()])
    external_id = StringField("Внешний код", validators=[Optional(), Length(max=100)])
    confirm_duplicate = BooleanField("Это другой контрагент — создать всё равно")


class ContactForm(FlaskForm):
    full_name = StringField("ФИО", validators=[DataRequired("Укажите ФИО."), Length(max=300)])
    position = StringField("Должность", validators=[Optional(), Length(max=200)])
    phones = TextAreaField("Телефоны (по одному в строке)", validators=[Optional()])
    emails = TextAreaField("Электронная почта (по одному в строке)", validators=[Optional()])
    birthday = DateField("День рождения", validators=[Optional()])
    curator_id = SelectField("Свой куратор контакта", choices=[], validators=[Optional()])
    notes = TextAreaField("Заметки", validators=[Optional()])


class GroupForm(FlaskForm):
    name = StringField("Название", validators=[DataRequired("Укажите название."), Length(max=200)])
    kind = SelectField(
        "Тип", choices=choices([(GroupKind.COMMON, "Общая"), (GroupKind.PERSONAL, "Личная")])
    )
    category = SelectField("Вид", choices=choices(GROUP_CATEGORY_LABELS.items()))
    description = TextAreaField("Описание", validators=[Optional()])
    is_active = BooleanField("Действует", default=True)


class BulkGroupForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    group_id = SelectField("Группа", choices=[], validators=[DataRequired("Выберите группу.")])
    client_ids = SelectMultipleField("Клиенты", choices=[], validate_choice=False)


class ReassignForm(FlaskForm):
    from_user_id = SelectField("Чьих клиентов передать", choices=[])
    to_user_ids = SelectMultipleField(
        "Кому (поровну)", choices=[], validators=[DataRequired("Выберите получателей.")]
    )


class CompetitorParticipationForm(FlaskForm):
    exhibition_id = SelectField("Выставка конкурента", choices=[])
    year = IntegerField("Год", validators=[NumberRange(1990, 2100, "Укажите год.")])


class CompetitorExhibitionForm(FlaskForm):
    name = StringField("Название выставки", validators=[DataRequired("Укажите название.")])
    organizer = StringField("Организатор", validators=[Optional()])
    city = StringField("Город", validators=[Optional()])


class SavedFilterForm(FlaskForm):
    name = StringField(
        "Название фильтра",
        validators=[
            DataRequired("Назовите фильтр."),
            Length(max=100, message="Название фильтра — не больше 100 символов."),
        ],
    )
    query = HiddenField()
