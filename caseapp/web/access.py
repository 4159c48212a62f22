"""Who may open a console page: deny by default, as in the API.

Every console view declares one of ``public``, ``signed_in``, ``staff(...)``, ``partner_user``,
``member`` or ``prefecture_user``; one hook, run before each view of every console blueprint,
resumes the sign-in and enforces the declaration. Staff and partner users never reach each
other's pages.
"""

from datetime import timedelta
from functools import partial

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from caseapp.config import Config
from caseapp.csp import CONSOLE_CSP
from caseapp.extensions import db
from caseapp.permissions import CONSOLE, STAFF_ROLES, Permission, has_permission
from caseapp.services.community import members
from caseapp.services.core import auth as auth_service
from caseapp.services.core import scope, signin
from caseapp.services.core.actors import Actor

csrf = CSRFProtect()

PUBLIC, SIGNED_IN, STAFF, PARTNER = "public", "signed_in", "staff", "partner"
MEMBER, PREFECTURE = "member", "prefecture"
SESSION_KEY = "sid"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# What each role is called on screen.
ROLE_LABELS = {"counter": "相談員", "supervisor": "管理職", "admin": "システム管理者",
               "partner": "連携先", "member": "地域の委員", "prefecture": "県社協"}


def _declare(view, access: str, permission: Permission | None = None):
    view.required_permission = CONSOLE  # the API's token check steps aside
    view.console_access = access
    view.console_permission = permission
    return view


def public(view):
    """Open without signing in (the sign-in page itself)."""
    return _declare(view, PUBLIC)


def signed_in(view):
    """Any signed-in user, staff or partner (the view decides where each goes)."""
    return _declare(view, SIGNED_IN)


def staff(permission: Permission | None = None):
    """Staff roles only; with a permission, only the roles granted it."""
    return partial(_declare, access=STAFF, permission=permission)


def partner_user(view):
    """Partner users only; their partner is ``current_user().partner_id``."""
    return _declare(view, PARTNER)


def member(view):
    """Community members (民生委員 …) within their term; what they see is narrowed by the
    services (their own 小地域, the fewest fields)."""
    return _declare(view, MEMBER)


def prefecture_user(view):
    """The prefecture council's users only: counts per municipality, nothing personal."""
    return _declare(view, PREFECTURE)


def current_user() -> signin.SignedIn | None:
    return g.get("console_user")


def current_actor() -> Actor:
    return g.actor


def home_for(user: signin.SignedIn) -> str:
    if user.role == "partner":
        return url_for("partner.home")
    if user.role == members.ROLE:
        return url_for("community_pages.member_home")
    if user.role == PREFECTURE:
        return url_for("prefecture_pages.report")
    return url_for("home.index")


def console_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint of the console: its views get the sign-in, CSRF and page headers."""
    kwargs.setdefault("template_folder", "templates")
    bp = Blueprint(name, import_name, **kwargs)
    bp.before_request(_check_request)
    bp.after_request(_page_headers)
    bp.register_error_handler(CSRFError, _csrf_refused)
    bp.register_error_handler(403, _forbidden)
    return bp


def _check_request():
    view = current_app.view_functions.get(request.endpoint)
    access = getattr(view, "console_access", None)
    if request.method not in _SAFE_METHODS:
        csrf.protect()
    user = _resume()
    if (user is not None and user.must_change_password
            and request.endpoint not in _OPEN_WITH_TEMPORARY_PASSWORD):
        return _to_password_change()
    if access == PUBLIC:
        return None
    if access is None:
        return _refuse(user, "no access declared")
    if user is None:
        return _to_sign_in()
    if access == STAFF and user.role not in STAFF_ROLES:
        return _refuse(user, STAFF)
    permission = getattr(view, "console_permission", None)
    if access == STAFF and permission is not None and not has_permission(user.role, permission):
        return _refuse(user, str(permission))
    if access == PARTNER and (user.role != "partner" or user.partner_id is None):
        return _refuse(user, PARTNER)
    if access == MEMBER and user.role != members.ROLE:
        return _refuse(user, MEMBER)
    if access == PREFECTURE and user.role != PREFECTURE:
        return _refuse(user, PREFECTURE)
    if user.role == members.ROLE:
        # A member's access ends with the term, whatever page they ask for.
        refusal = members.term_refusal(db.session, user.user_id)
        if refusal is not None:
            return _refuse(user, "member_term")
    return None


def _resume() -> signin.SignedIn | None:
    g.console_user = None
    token = session.get(SESSION_KEY)
    if not token:
        return None
    config: Config = current_app.config["CASEAPP"]
    user = signin.resume(db.session, token, timedelta(minutes=config.session_idle_minutes),
                         request.remote_addr)
    if user is None:
        session.clear()
        flash("一定時間操作がなかったため、サインアウトしました。もう一度サインインしてください。",
              "info")
        return None
    g.console_user = user
    g.actor = user.actor(request.remote_addr)
    scope.enter(db.session, scope.for_actor(db.session, g.actor, user.municipality_id))
    return user


_OPEN_WITH_TEMPORARY_PASSWORD = {"signin.password", "signin.logout", "signin.login"}


def _to_password_change():
    target = url_for("signin.password")
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    flash("管理者が設定した仮パスワードのままです。先に自分のパスワードを決めてください。", "info")
    return redirect(target)


def _to_sign_in():
    target = url_for("signin.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        # htmx follows this header with a full page load rather than swapping in a form.
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _refuse(user: signin.SignedIn | None, wanted: str):
    actor = user.actor(request.remote_addr) if user else Actor(
        user_id=None, name="anonymous", role="none", source_ip=request.remote_addr)
    auth_service.record_denied(db.session, actor, request.endpoint,
                               {"method": request.method, "path": request.path,
                                "wanted": wanted})
    return _forbidden(None)


def _forbidden(_exc):
    user = current_user()
    return render_template("error.html", title="このページは開けません",
                           message="このページを開く権限がありません。",
                           back=home_for(user) if user else url_for("signin.login")), 403


def _csrf_refused(_exc: CSRFError):
    return render_template(
        "error.html", title="送信を受け付けられませんでした",
        message="画面の有効期限が切れたか、正しくない送信です。ページを読み込み直してから、"
                "もう一度操作してください。",
        back=request.path if request.method == "GET" else url_for("home.index")), 400


_CSP = CONSOLE_CSP


def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.vary.add("Cookie")
    return response
