from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from erp_crm.auth.permissions import ROLE_LABELS
from erp_crm.core.forms import AppForm, choices


class LoginForm(AppForm):
    username = StringField("Имя входа", validators=[DataRequired("Укажите имя входа.")])
    password = PasswordField("Пароль", validators=[DataRequired("Укажите пароль.")])
    remember = BooleanField("Запомнить меня на этом компьютере")


class UserForm(AppForm):
    username = StringField(
        "Имя входа", validators=[DataRequired("Укажите имя входа."), Length(max=64)]
    )
    full_name = StringField("ФИО", validators=[DataRequired("Укажите ФИО."), Length(max=200)])
    email = EmailField("Электронная почта", validators=[Optional(), Length(max=254)])
    phone = StringField("Телефон", validators=[Optional(), Length(max=32)])
    role = SelectField("Роль", choices=choices(ROLE_LABELS.items()))
    password = PasswordField("Пароль", validators=[Optional()])
    is_active = BooleanField("Учётная запись действует", default=True)


class ChangePasswordForm(AppForm):
    current_password = PasswordField("Текущий пароль", validators=[DataRequired("Укажите пароль.")])
    new_password = PasswordField("Новый пароль", validators=[DataRequired("Укажите новый пароль.")])
