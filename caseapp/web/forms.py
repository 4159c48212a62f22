"""The console's forms (Flask-WTF): labels and messages in Japanese."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    name = StringField("利用者名", validators=[
        InputRequired("利用者名を入力してください"), Length(max=100, message="長すぎます")],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField("パスワード", validators=[
        InputRequired("パスワードを入力してください"), Length(max=256, message="長すぎます")],
        render_kw={"autocomplete": "current-password"})
    next = HiddenField()
