"""Forms of the projects pages: only shape checks; the services do the real validation.

Numbers are text fields: people type «1 250,50», and the services read them (projects.values).
"""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from erp_crm.core.forms import AppForm, choices
from erp_crm.projects.models import (
    PROJECT_STATUS_LABELS,
    STAND_POSITION_LABELS,
    STAND_TYPE_LABELS,
    StandType,
)
from erp_crm.projects.prices import SURCHARGE_POSITIONS
from erp_crm.projects.values import SURCHARGE_KINDS, VAT_MODE_LABELS, VAT_SETTINGS

VAT_CHOICES = choices(VAT_SETTINGS.items())
MODE_CHOICES = choices(VAT_MODE_LABELS.items())
_NUMBER = [Optional(), Length(max=32)]


def _select(*args, **kwargs) -> SelectField:
    """A select whose value the service checks (with a Russian message), not WTForms."""
    kwargs.setdefault("validate_choice", False)
    return SelectField(*args, **kwargs)


def _select_multiple(*args, **kwargs) -> SelectMultipleField:
    kwargs.setdefault("validate_choice", False)
    return SelectMultipleField(*args, **kwargs)


class ProjectForm(AppForm):
    name = StringField("Название", validators=[Length(max=300)])
    code = StringField("Код", validators=[Length(max=32)])
    status = _select("Статус", choices=choices(PROJECT_STATUS_LABELS.items()))
    venue = StringField("Площадка", validators=[Optional(), Length(max=300)])
    city = StringField("Город", validators=[Optional(), Length(max=120)])
    build_up_date = DateField("Монтаж", validators=[Optional()])
    opening_date = DateField("Открытие", validators=[Optional()])
    closing_date = DateField("Закрытие", validators=[Optional()])
    dismantling_date = DateField("Демонтаж", validators=[Optional()])
    project_manager_id = _select("Руководитель проекта", choices=[], validators=[Optional()])
    member_ids = _select_multiple("Команда (менеджеры по продажам)", choices=[])
    description = TextAreaField("Описание", validators=[Optional()])


class HallForm(AppForm):
    name = StringField("Название зала", validators=[Length(max=100)])
    width_m = StringField("Ширина, м", validators=_NUMBER)
    depth_m = StringField("Глубина, м", validators=_NUMBER)
    position = IntegerField("Порядок на плане", validators=[Optional()], default=0)


class PriceListForm(AppForm):
    registration_fee = StringField("Регистрационный сбор, ₽", validators=_NUMBER)
    default_vat_rate = _select("НДС регистрационного сбора", choices=VAT_CHOICES)
    registration_vat_mode = _select("Сбор указан", choices=MODE_CHOICES)
    price_raw = StringField(STAND_TYPE_LABELS[StandType.RAW], validators=_NUMBER)
    vat_raw = _select("НДС", choices=VAT_CHOICES)
    mode_raw = _select("Цена указана", choices=MODE_CHOICES)
    price_shell = StringField(STAND_TYPE_LABELS[StandType.SHELL], validators=_NUMBER)
    vat_shell = _select("НДС", choices=VAT_CHOICES)
    mode_shell = _select("Цена указана", choices=MODE_CHOICES)
    price_open = StringField(STAND_TYPE_LABELS[StandType.OPEN], validators=_NUMBER)
    vat_open = _select("НДС", choices=VAT_CHOICES)
    mode_open = _select("Цена указана", choices=MODE_CHOICES)
    kind_corner = _select("Вид", choices=choices(SURCHARGE_KINDS.items()))
    surcharge_corner = StringField(
        STAND_POSITION_LABELS[SURCHARGE_POSITIONS[0]], validators=_NUMBER
    )
    kind_peninsula = _select("Вид", choices=choices(SURCHARGE_KINDS.items()))
    surcharge_peninsula = StringField(
        STAND_POSITION_LABELS[SURCHARGE_POSITIONS[1]], validators=_NUMBER
    )
    kind_island = _select("Вид", choices=choices(SURCHARGE_KINDS.items()))
    surcharge_island = StringField(
        STAND_POSITION_LABELS[SURCHARGE_POSITIONS[2]], validators=_NUMBER
    )


class ServiceForm(AppForm):
    name = StringField("Услуга", validators=[Length(max=300)])
    unit = StringField("Единица", validators=[Length(max=32)], default="шт")
    unit_code = StringField("Код ОКЕИ", validators=[Length(max=8)], default="796")
    price = StringField("Цена, ₽", validators=_NUMBER)
    vat_rate = _select("НДС", choices=VAT_CHOICES)
    vat_mode = _select("Цена указана", choices=MODE_CHOICES)
    is_active = BooleanField("Предлагается", default=True)


class StandForm(AppForm):
    hall_id = _select("Зал", choices=[])
    number = StringField("Номер", validators=[Length(max=32)])
    area_m2 = StringField("Площадь, м²", validators=_NUMBER)
    stand_type = _select("Тип", choices=choices(STAND_TYPE_LABELS.items()))
    position = _select("Расположение", choices=choices(STAND_POSITION_LABELS.items()))
    x_m = StringField("X, м", validators=_NUMBER)
    y_m = StringField("Y, м", validators=_NUMBER)
    width_m = StringField("Ширина, м", validators=_NUMBER)
    depth_m = StringField("Глубина, м", validators=_NUMBER)


class StandImportForm(AppForm):
    file = FileField("Файл CSV или XLSX", validators=[FileRequired("Выберите файл.")])
    dry_run = BooleanField("Пробный прогон: только проверить, ничего не сохранять", default=True)


class ReserveForm(AppForm):
    # The service checks the deal (it may be another manager's).
    deal_id = _select("Сделка", choices=[], validators=[DataRequired("Выберите сделку.")])
    until = DateField("Бронь до (включительно)", validators=[DataRequired("Укажите срок брони.")])
