"""The web console: server-rendered pages for staff and partner users, in Japanese.

A top layer like the API: views call the services, never the models, and hold no business rule.
Each page module makes its blueprint with ``access.console_blueprint`` (sign-in, CSRF, page
headers) and declares who may open each view; ``register_web`` mounts them.
"""

from flask import Flask

from caseapp.web import access, display, nav
from caseapp.web.session import ConsoleSessionInterface


def register_web(app: Flask) -> None:
    from caseapp.web import (
        ack,
        admin_pages,
        audit_pages,
        cases,
        clients,
        community_pages,
        events_pages,
        home,
        intake,
        partner,
        prefecture_pages,
        referrals,
        reports_pages,
        sign_in,
    )

    app.session_interface = ConsoleSessionInterface()
    access.csrf.init_app(app)
    for module in (sign_in, home, partner, intake, cases, referrals, clients, events_pages,
                   reports_pages, prefecture_pages, community_pages, admin_pages, audit_pages):
        app.register_blueprint(module.bp)
    ack.register(app)
    app.context_processor(_layout)
    display.register(app)


def _layout() -> dict:
    user = access.current_user()
    items = ([] if user is None else nav.PARTNER if user.role == "partner"
             else nav.MEMBER if user.role == "member"
             else nav.PREFECTURE if user.role == access.PREFECTURE else nav.STAFF)
    items = [item for item in items if user is not None and item.shown_to(user.role)]
    return {"console_user": user, "nav_items": items,
            "role_label": access.ROLE_LABELS.get(user.role, user.role) if user else None}
