from __future__ import annotations

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from erp_crm.core.forms import AppForm, choices
from erp_crm.organizations.models import VAT_RATE_CHOICES, VAT_REGIME_LABELS


class OrganizationForm(AppForm):
    # Requisites are validated by the service (checksums, regime/rate pairs): one set of rules
    # for the page and the API.
    short_name = StringField("Краткое наименование", validators=[Length(max=200)])
    full_name = StringField("Полное наименование", validators=[Length(max=500)])
    inn = StringField("ИНН", validators=[Length(max=20)])
    kpp = StringField("КПП", validators=[Optional(), Length(max=20)])
    ogrn = StringField("ОГРН / ОГРНИП", validators=[Length(max=20)])
    legal_address = TextAreaField("Юридический адрес")
    postal_address = TextAreaField("Почтовый адрес", validators=[Optional()])
    phone = StringField("Телефон", validators=[Optional(), Length(max=64)])
    email = StringField("Электронная почта", validators=[Optional(), Length(max=254)])
    bank_name = StringField("Банк", validators=[Length(max=300)])
    bik = StringField("БИК", validators=[Length(max=20)])
    settlement_account = StringField("Расчётный счёт", validators=[Length(max=30)])
    correspondent_account = StringField("Корр. счёт", validators=[Optional(), Length(max=30)])
    director_position = StringField("Должность руководителя", validators=[Length(max=200)])
    director_name = StringField("ФИО руководителя", validators=[Length(max=200)])
    chief_accountant_name = StringField("ФИО главного бухгалтера", validators=[Optional()])
    vat_regime = SelectField("Налогообложение", choices=choices(VAT_REGIME_LABELS.items()))
    vat_rate = SelectField("Ставка НДС по умолчанию", choices=choices(VAT_RATE_CHOICES.items()))
    vat_exempt_basis = StringField(
        "Основание «Без НДС» (для режима без НДС)", validators=[Optional(), Length(max=300)]
    )
    payment_days = StringField("Срок оплаты счёта, банковских дней")
