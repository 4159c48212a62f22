"""The console's menus: one list per kind of user, filled by the pages that exist.

A page module adds its entry when it registers (``STAFF.append(NavItem(...))``); the base
layout shows the list for the signed-in user and marks the current page.
"""

from dataclasses import dataclass

from flask import request, url_for

from caseapp.permissions import Permission, has_permission


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    # Other endpoints that count as this entry's page (a case opened from ホーム's list …).
    also: tuple[str, ...] = ()
    # Shown only to roles granted it (pages others would be refused).
    permission: Permission | None = None

    def shown_to(self, role: str) -> bool:
        return self.permission is None or has_permission(role, self.permission)

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def current(self) -> bool:
        return request.endpoint == self.endpoint or request.endpoint in self.also


STAFF: list[NavItem] = [
    NavItem("ホーム", "home.index", also=("console_cases.show",)),
    NavItem("相談受付", "console_intake.new", also=("console_intake.create",)),
    NavItem("紹介", "console_referrals.index"),
    NavItem("相談者", "console_clients.search",
            also=("console_clients.show", "console_clients.confirm_merge")),
]
PARTNER: list[NavItem] = [NavItem("受信箱", "partner.home")]
MEMBER: list[NavItem] = []
PREFECTURE: list[NavItem] = []
STAFF += [
    NavItem("監査ログ", "audit_log.log", permission=Permission.AUDIT_READ),
    NavItem("利用者の管理", "admin.users_page", permission=Permission.USERS_ADMIN),
    NavItem("連携先の設定", "admin.partners_page",
            also=("admin.partner_page", "admin.partner_save", "admin.partner_test"),
            permission=Permission.PARTNERS_ADMIN),
    NavItem("ルール", "admin.rules_page", also=("admin.rules_preview", "admin.rules_adopt",
                                              "admin.rules_version", "admin.rules_readopt"),
            permission=Permission.RULES_ADMIN),
]
