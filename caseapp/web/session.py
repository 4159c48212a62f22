"""The console's cookie: Flask's signed cookie, marked Secure whenever the page came over https."""

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class ConsoleSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        # gunicorn reports https behind a trusted proxy (X-Forwarded-Proto), so this holds
        # there too; plain http on 127.0.0.1 still gets a cookie the browser will send.
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)
