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
    # Shown only to the roles granted it (the page itself checks again).
    permission: Permission | None = None

    def shown_to(self, role: str) -> bool:
        return self.permission is None or has_permission(role, self.permission)

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def current(self) -> bool:
        return request.endpoint == self.endpoint or request.endpoint in self.also


STAFF: list[NavItem] = [NavItem("ホーム", "home.index")]
PARTNER: list[NavItem] = [NavItem("受信箱", "partner.home")]
