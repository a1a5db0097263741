"""Forms of the contact pages: only shapes; the services check the rules and the choices."""

from __future__ import annotations

from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from erp_crm.activities.models import RESULT_LABELS
from erp_crm.core.forms import AppForm, choices

REMINDER_CHOICES = choices(
    [(0, "в момент начала"), (15, "за 15 минут"), (60, "за час"), (1440, "за день")]
)
SCORE_CHOICES = choices([("", "—"), *((n, str(n)) for n in range(5, 0, -1))])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def moment_field(label: str, *required: DataRequired) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format="%Y-%m-%dT%H:%M",
        validators=[*required] or [Optional()],
        render_kw={"step": 300},
    )


class PlanForm(AppForm):
    client_id = HiddenField("Клиент")
    type_id = SelectField("Тип контакта", choices=[], validate_choice=False)
    goal = StringField("Цель", validators=[DataRequired("Укажите цель контакта."), Length(max=500)])
    contact_id = SelectField("Контактное лицо", choices=[], validate_choice=False)
    deal_id = SelectField("Сделка", choices=[], validate_choice=False)
    project_id = SelectField("Выставочный проект", choices=[], validate_choice=False)
    responsible_id = SelectField("Ответственный", choices=[], validate_choice=False)
    starts_at = moment_field("Дата и время", DataRequired("Укажите дату и время контакта."))
    duration_minutes = IntegerField(
        "Длительность, мин",
        validators=[Optional(), NumberRange(min=1, max=1440)],
        render_kw={"min": 1, "max": 1440},
    )
    reminders = MultiCheckboxField("Напомнить", choices=REMINDER_CHOICES, validate_choice=False)


class CompleteForm(AppForm):
    kind = RadioField(
        "Результат",
        choices=choices(RESULT_LABELS.items()),
        validators=[DataRequired("Выберите результат контакта.")],
    )
    text = TextAreaField("Комментарий", validators=[Optional(), Length(max=5000)])
    postponed_to = moment_field("Перенести на")
    postpone_reason_id = SelectField("Причина переноса", choices=[], validate_choice=False)
    visit_reason_id = SelectField("Причина отказа", choices=[], validate_choice=False)
    lost_reason_id = SelectField("Причина отказа от участия", choices=[], validate_choice=False)
    deal_id = SelectField("Сделка", choices=[], validate_choice=False)
    visitors = TextAreaField(
        "Приглашённые (по одному в строке: ФИО; должность; контакт)",
        validators=[Optional(), Length(max=10_000)],
    )
    manager_score = SelectField("Менеджер", choices=SCORE_CHOICES, validate_choice=False)
    project_score = SelectField("Проект", choices=SCORE_CHOICES, validate_choice=False)
    company_score = SelectField("Компания", choices=SCORE_CHOICES, validate_choice=False)
    rating_comment = StringField("Комментарий клиента", validators=[Optional(), Length(max=2000)])


class ResultTextForm(AppForm):
    text = TextAreaField("Комментарий к результату", validators=[Length(max=5000)])


class CancelForm(AppForm):
    note = StringField("Почему отменён", validators=[Optional(), Length(max=2000)])


class BulkForm(AppForm):
    client_ids = SelectMultipleField("Клиенты", choices=[], validate_choice=False)
    group_id = HiddenField()
    type_id = SelectField("Тип контакта", choices=[], validate_choice=False)
    goal = StringField(
        "Цель", validators=[DataRequired("Укажите цель контактов."), Length(max=500)]
    )
    first_day = DateField(
        "Первый день",
        validators=[DataRequired("Укажите первый день.")],
        invalid_value_message="Укажите дату в формате ДД.ММ.ГГГГ.",
        render_kw={"type": "date"},
    )
    working_days = IntegerField(
        "Распределить на рабочих дней",
        default=5,
        validators=[DataRequired("Укажите число дней."), NumberRange(min=1, max=60)],
    )
    day_start = TimeField("С", default=None, validators=[Optional()])
    day_end = TimeField("До", default=None, validators=[Optional()])
    responsible_id = SelectField("Ответственные", choices=[], validate_choice=False)
    reminders = MultiCheckboxField("Напомнить", choices=REMINDER_CHOICES, validate_choice=False)


class TaskForm(AppForm):
    client_id = HiddenField()
    deal_id = HiddenField()
    activity_id = HiddenField()
    assignee_id = SelectField("Кому", choices=[], validate_choice=False)
    goal = TextAreaField(
        "Суть запроса", validators=[DataRequired("Опишите суть запроса."), Length(max=5000)]
    )
    due_on = DateField(
        "Срок",
        validators=[DataRequired("Укажите срок.")],
        invalid_value_message="Укажите дату в формате ДД.ММ.ГГГГ.",
        render_kw={"type": "date"},
    )


class RatingForm(AppForm):
    """«Оценка клиентом» on the deal card (or the client card)."""

    manager_score = SelectField("Менеджер", choices=SCORE_CHOICES, validate_choice=False)
    project_score = SelectField("Проект", choices=SCORE_CHOICES, validate_choice=False)
    company_score = SelectField("Компания", choices=SCORE_CHOICES, validate_choice=False)
    comment = StringField("Комментарий клиента", validators=[Optional(), Length(max=2000)])


class AnswerForm(AppForm):
    answer = TextAreaField("Ответ", validators=[Length(max=5000)])


class TypeForm(AppForm):
    name = StringField(
        "Название", validators=[DataRequired("Назовите тип контакта."), Length(max=100)]
    )
    default_minutes = IntegerField(
        "Длительность, мин", default=15, validators=[NumberRange(min=1, max=1440)]
    )


class ReasonForm(AppForm):
    kind = SelectField(
        "Каталог",
        choices=choices([("postpone", "Причины переноса"), ("refuse_visit", "Отказ от посещения")]),
    )
    name = StringField("Причина", validators=[DataRequired("Назовите причину."), Length(max=200)])


class RuleForm(AppForm):
    follow_up_days = IntegerField(
        "Следующий контакт через, дней", validators=[Optional(), NumberRange(min=1, max=365)]
    )
    stage_id = SelectField("Перевести сделку на этап", choices=[], validate_choice=False)
