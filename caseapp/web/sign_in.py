"""``/login`` and ``/logout``: one sign-in for staff and partner users."""

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests

from caseapp import throttle
from caseapp.extensions import db
from caseapp.services.core import auth as auth_service
from caseapp.services.core import signin
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.web.access import (
    SESSION_KEY,
    console_blueprint,
    current_actor,
    current_user,
    home_for,
    public,
    signed_in,
)
from caseapp.web.forms import PasswordChangeForm, SignInForm

bp = console_blueprint("signin", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        user = current_user()
        if user is not None:
            return redirect(home_for(user))
        return render_template("login.html", form=form)
    if not form.validate():
        return render_template("login.html", form=form), 422
    try:
        throttle.refuse_if_failing_too_often()
    except TooManyRequests as exc:
        anonymous = Actor(user_id=None, name="anonymous", role="none",
                          source_ip=request.remote_addr)
        auth_service.record_denied(db.session, anonymous, request.endpoint,
                                   {"method": "POST", "path": request.path,
                                    "wanted": "sign_in", "reason": "rate_limited"})
        minutes = max(1, round((exc.retry_after or 60) / 60))
        error = (f"サインインの失敗が続いたため、受け付けを止めています。{minutes} 分ほど待ってから"
                 "もう一度お試しください。")
        return (render_template("login.html", form=form, error=error), 429,
                {"Retry-After": str(exc.retry_after or 60)})
    try:
        user = signin.sign_in(db.session, form.name.data, form.password.data,
                              request.remote_addr)
    except signin.SignInFailed:
        throttle.count_failure()
        error = "利用者名またはパスワードが違います。"
        return render_template("login.html", form=form, error=error), 422
    session.clear()  # nothing from before the sign-in carries over
    session.permanent = True
    session[SESSION_KEY] = user.token
    return redirect(_next_page(form.next.data, user) or home_for(user))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password():
    """Change one's own password; the only page open while the password is a 仮パスワード."""
    user = current_user()
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("password.html", form=form, user=user)
    if not form.validate():
        return render_template("password.html", form=form, user=user), 422
    try:
        signin.change_own_password(db.session, user, form.current.data, form.password.data,
                                   current_actor().source_ip)
    except Invalid as exc:
        for name, messages in (exc.errors or {}).items():
            getattr(form, name).errors = list(messages)
        return render_template("password.html", form=form, user=user), 422
    flash("パスワードを変更しました。", "success")
    return redirect(home_for(user))


@bp.route("/logout", methods=["POST"])
@public
def logout():
    token = session.get(SESSION_KEY)
    if token:
        signin.sign_out(db.session, token, request.remote_addr)
    session.clear()
    flash("サインアウトしました。", "info")
    return redirect(url_for("signin.login"))


def _next_page(target: str | None, user: signin.SignedIn) -> str | None:
    """Only a path on this server, and only into the signed-in user's own side of it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if (user.role == "partner") != target.startswith("/partner/"):
        return None
    if user.role == "member" and not target.startswith("/community/"):
        return None
    return target


__all__ = ["bp"]
