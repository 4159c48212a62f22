"""The console's forms (Flask-WTF): labels and messages in Japanese."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length


class SignInForm(FlaskForm):
    name = StringField("利用者名", validators=[
        InputRequired("利用者名を入力してください"), Length(max=100, message="長すぎます")],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField("パスワード", validators=[
        InputRequired("パスワードを入力してください"), Length(max=256, message="長すぎます")],
        render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = PasswordField("今のパスワード", validators=[
        InputRequired("今のパスワードを入力してください"), Length(max=256, message="長すぎます")],
        render_kw={"autocomplete": "current-password"})
    password = PasswordField("新しいパスワード（12 文字以上）", validators=[
        InputRequired("新しいパスワードを入力してください"), Length(max=256, message="長すぎます")],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("新しいパスワード（確認のためもう一度）", validators=[
        InputRequired("確認のため、もう一度入力してください"),
        EqualTo("password", "新しいパスワードと一致しません")],
        render_kw={"autocomplete": "new-password"})
