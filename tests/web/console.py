"""A browser-like test client for the console: asks for HTML and sends the form's CSRF token."""

import re

from flask import g, has_app_context

from caseapp.services.core import auth, signin

PASSWORD = "窓口の合言葉 correct horse"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Console:
    def __init__(self, client):
        self.client = client

    @staticmethod
    def _fresh_request():
        # The test holds one app context throughout, so ``g`` outlives each request; in a
        # served app every request has its own, and Flask-WTF's cached token goes with it.
        if has_app_context():
            for name in ("csrf_token", "csrf_valid"):
                g.pop(name, None)

    def get(self, path: str, **kw):
        self._fresh_request()
        headers = {"Accept": BROWSER_ACCEPT, **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, **kw)

    def csrf_token(self, path: str = "/login") -> str:
        match = CSRF.search(self.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, *, token_from: str = "/login", **kw):
        data = {"csrf_token": self.csrf_token(token_from), **(data or {})}
        self._fresh_request()
        headers = {"Accept": BROWSER_ACCEPT, **kw.pop("headers", {})}
        return self.client.post(path, data=data, headers=headers, **kw)

    def post_raw(self, path: str, **kw):
        """A POST exactly as given: no token added."""
        self._fresh_request()
        return self.client.post(path, **kw)

    def sign_in(self, name: str, password: str = PASSWORD, **extra):
        return self.post("/login", {"name": name, "password": password, **extra})

    def sign_out(self):
        return self.post("/logout", token_from="/")


def make_people(session) -> dict[str, str]:
    """A counter worker, a supervisor and two people at partner houkatsu, all with PASSWORD."""
    for name, role in (("suzuki", "counter"), ("sato", "supervisor")):
        auth.create_user(session, name, role)
        signin.set_password(session, name, PASSWORD)
    for name in ("houkatsu-tanaka", "houkatsu-ito"):
        signin.create_partner_user(session, "houkatsu", name, PASSWORD)
    return {"counter": "suzuki", "supervisor": "sato", "partner": "houkatsu-tanaka"}
