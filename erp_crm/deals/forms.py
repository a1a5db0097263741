"""Deal forms: only shapes; the services check the rules (and the choices)."""

from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from erp_crm.core.forms import AppForm, choices

DISCOUNT_KINDS = {"": "Без скидки", "percent": "Процент", "amount": "Сумма, ₽"}


def date_field(label: str) -> DateField:
    """An optional date input (type=date) with a Russian parse error."""
    return DateField(
        label,
        validators=[Optional()],
        invalid_value_message="Укажите дату в формате ДД.ММ.ГГГГ.",
        render_kw={"type": "date"},
    )


class DealForm(AppForm):
    # The services check that the client, the project and the contact exist and fit together.
    client_id = HiddenField("Контрагент")  # chosen by the search form above the deal form
    project_id = SelectField("Выставочный проект", choices=[], validate_choice=False)
    contact_id = SelectField("Контактное лицо", choices=[], validate_choice=False)
    title = StringField("Название сделки", validators=[Optional(), Length(max=300)])
    manager_id = SelectField("Менеджер", choices=[], validate_choice=False)


class DetailsForm(AppForm):
    title = StringField(
        "Название сделки", validators=[DataRequired("Укажите название."), Length(max=300)]
    )
    contact_id = SelectField("Контактное лицо", choices=[], validate_choice=False)


class StageForm(AppForm):
    stage_id = SelectField("Этап", choices=[], validate_choice=False)
    next_contact_date = date_field("Дата следующего контакта")
    note = StringField("Комментарий", validators=[Optional(), Length(max=300)])


class LostForm(AppForm):
    lost_reason_id = SelectField("Причина отказа", choices=[], validate_choice=False)
    lost_comment = TextAreaField("Комментарий", validators=[Optional(), Length(max=2000)])


class StandLineForm(AppForm):
    stand_id = SelectField(
        "Свободный стенд",
        choices=[],
        validators=[DataRequired("Выберите стенд.")],
        render_kw={"data-searchable": "Номер стенда, зал или площадь"},
    )
    hold_until = date_field("Бронь до (включительно)")


class SpaceLineForm(AppForm):
    stand_type = SelectField(
        "Тип площади", choices=[], validators=[DataRequired("Выберите тип площади.")]
    )
    area_m2 = StringField("Площадь, м²", validators=[DataRequired("Укажите площадь.")])


class ServiceLineForm(AppForm):
    service_item_id = SelectField(
        "Услуга", choices=[], validators=[DataRequired("Выберите услугу.")]
    )
    quantity = StringField(
        "Количество", default="1", validators=[DataRequired("Укажите количество.")]
    )


class DiscountForm(AppForm):
    discount_kind = SelectField("Скидка", choices=choices(DISCOUNT_KINDS.items()), default="")
    discount_value = StringField("Размер", validators=[Optional(), Length(max=20)])
    discount_reason = StringField("Причина скидки", validators=[Optional(), Length(max=300)])
