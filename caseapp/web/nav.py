"""The console's menus: one list per kind of user, filled by the pages that exist.

A page module adds its entry when it registers (``STAFF.append(NavItem(...))``); the base
layout shows the list for the signed-in user and marks the current page.
"""

from dataclasses import dataclass

from flask import request, url_for


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    # Other endpoints that count as this entry's page (a case opened from ホーム's list …).
    also: tuple[str, ...] = ()

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
