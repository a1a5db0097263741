"""Forms of the budget pages: only shape checks; the services do the real validation.

The grid is not a WTForms form (its cells depend on the articles and months): the view reads
the cells from request.form and the service validates each one.
"""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from erp_crm.budgets.models import DIRECTION_LABELS
from erp_crm.core.forms import AppForm, choices


class ArticleForm(AppForm):
    code = StringField("Код", validators=[Length(max=32)])
    name = StringField("Название", validators=[Length(max=200)])
    direction = SelectField(
        "Направление", choices=choices(DIRECTION_LABELS.items()), validate_choice=False
    )
    position = StringField("Порядок в списке", validators=[Optional(), Length(max=8)])


class NewVersionForm(AppForm):
    copy_latest = BooleanField("Скопировать суммы последней версии", default=True)
    comment = TextAreaField("Комментарий", validators=[Optional(), Length(max=2000)])
