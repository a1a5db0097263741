from __future__ import annotations

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
    Client,
    CompetitorExhibition,
    ContactPerson,
    GroupKind,
)
from erp_crm.core.forms import AppForm, choices, max_length


class ClientForm(AppForm):
    # Requisites are checked by the service: one set of rules for the page, the API and imports.
    kind = SelectField("Вид", choices=choices(CLIENT_KIND_LABELS.items()))
    name = StringField("Наименование", validators=[max_length(Client.name)])
    full_name = StringField(
        "Полное наименование", validators=[Optional(), max_length(Client.full_name)]
    )
    inn = StringField("ИНН", validators=[Optional(), Length(max=20)])
    kpp = StringField("КПП", validators=[Optional(), Length(max=20)])
    ogrn = StringField("ОГРН / ОГРНИП", validators=[Optional(), Length(max=20)])
    legal_address = TextAreaField("Юридический адрес", validators=[Optional()])
    postal_address = TextAreaField("Почтовый адрес", validators=[Optional()])
    region = StringField("Регион", validators=[Optional(), max_length(Client.region)])
    city = StringField("Город", validators=[Optional(), max_length(Client.city)])
    industry = StringField("Отрасль", validators=[Optional(), max_length(Client.industry)])
    website = StringField("Сайт", validators=[Optional(), max_length(Client.website)])
    source = StringField("Источник", validators=[Optional(), max_length(Client.source)])
    readiness = SelectField(
        "Готовность к покупке",
        choices=choices((int(k), label) for k, (label, _) in READINESS_LABELS.items()),
    )
    curator_id = SelectField("Куратор", choices=[], validators=[Optional()])
    mailing_consent = BooleanField("Согласие на рассылку")
    notes = TextAreaField("Заметки", validators=[Optional()])
    external_id = StringField(
        "Внешний код", validators=[Optional(), max_length(Client.external_id)]
    )
    confirm_duplicate = BooleanField("Это другой контрагент — создать всё равно")


class ContactForm(AppForm):
    full_name = StringField(
        "ФИО", validators=[DataRequired("Укажите ФИО."), max_length(ContactPerson.full_name)]
    )
    position = StringField("Должность", validators=[Optional(), max_length(ContactPerson.position)])
    phones = TextAreaField("Телефоны (по одному в строке)", validators=[Optional()])
    emails = TextAreaField("Электронная почта (по одному в строке)", validators=[Optional()])
    birthday = DateField("День рождения", validators=[Optional()])
    curator_id = SelectField("Свой куратор контакта", choices=[], validators=[Optional()])
    notes = TextAreaField("Заметки", validators=[Optional()])


class GroupForm(AppForm):
    name = StringField("Название", validators=[DataRequired("Укажите название."), Length(max=200)])
    kind = SelectField(
        "Тип", choices=choices([(GroupKind.COMMON, "Общая"), (GroupKind.PERSONAL, "Личная")])
    )
    category = SelectField("Вид", choices=choices(GROUP_CATEGORY_LABELS.items()))
    description = TextAreaField("Описание", validators=[Optional()])
    is_active = BooleanField("Действует", default=True)


class BulkGroupForm(AppForm):
    action = HiddenField(validators=[DataRequired()])
    group_id = SelectField("Группа", choices=[], validators=[DataRequired("Выберите группу.")])
    client_ids = SelectMultipleField("Клиенты", choices=[], validate_choice=False)


class ReassignForm(AppForm):
    from_user_id = SelectField(
        "Чьих клиентов передать", choices=[], render_kw={"data-excludes": "to_user_ids"}
    )
    to_user_ids = SelectMultipleField(
        "Кому (поровну)", choices=[], validators=[DataRequired("Выберите получателей.")]
    )
    with_receivables = BooleanField(
        "Передать и выигранные сделки с неоплаченными счетами (дебиторку)", default=True
    )


class CompetitorParticipationForm(AppForm):
    exhibition_id = SelectField("Выставка конкурента", choices=[])
    year = IntegerField("Год", validators=[NumberRange(1990, 2100, "Укажите год.")])


class CompetitorExhibitionForm(AppForm):
    name = StringField(
        "Название выставки",
        validators=[DataRequired("Укажите название."), max_length(CompetitorExhibition.name)],
    )
    organizer = StringField(
        "Организатор", validators=[Optional(), max_length(CompetitorExhibition.organizer)]
    )
    city = StringField("Город", validators=[Optional(), max_length(CompetitorExhibition.city)])


class SavedFilterForm(AppForm):
    name = StringField(
        "Название фильтра",
        validators=[
            DataRequired("Назовите фильтр."),
            Length(max=100, message="Название фильтра — не больше 100 символов."),
        ],
    )
    query = HiddenField(
        validators=[Length(max=2000, message="Фильтр слишком длинный, чтобы его сохранить.")]
    )
