"""Outbound safety for partner webhooks: which URLs may be called, and how a socket is opened.

A webhook URL is chosen by an admin, but the request is made from inside the counter's network,
so an address that resolves to loopback or a private range could reach internal services
(SSRF). The check runs on the addresses DNS returns *at connect time*, and the socket connects
to the very address that was checked, so a DNS answer that changes between check and connect
(rebinding) cannot slip past it. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpcore
from httpcore._backends.sync import SyncBackend

# The whole-request deadline (time.monotonic) of the request running in this thread.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


class AddressRefused(httpcore.ConnectError):
    """The host resolved only to addresses this installation may not call."""


def address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified)
    # is_global is False for loopback, RFC 1918, link-local (cloud metadata), CGNAT, reserved.
    return ip.is_global and not ip.is_multicast


def url_problems(url: str, allow_private: bool) -> list[str]:
    """What is wrong with a webhook URL before any DNS lookup (empty list: acceptable)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"URL として読めません: {exc}"]
    problems = []
    if parts.scheme not in ("https", "http"):
        problems.append("https:// の URL を指定してください")
    elif parts.scheme == "http" and not allow_private:
        # Plain http is only for tests and demos on one machine (CASEAPP_WEBHOOK_ALLOW_PRIVATE).
        problems.append("本番環境では https:// の URL が必要です")
    if not parts.hostname:
        problems.append("ホスト名がありません")
    if parts.username or parts.password:
        problems.append("URL に認証情報を含めないでください")
    if parts.fragment:
        problems.append("URL にフラグメント (#...) は使えません")
    if port == 0:
        problems.append("ポート番号が正しくありません")
    if parts.hostname and not allow_private:
        with contextlib.suppress(ValueError):
            if not address_allowed(parts.hostname.strip("[]"), allow_private=False):
                problems.append("ループバック・プライベートアドレスには送れません")
        if parts.hostname.lower() in ("localhost", "localhost.localdomain") or \
                parts.hostname.lower().endswith(".localhost"):
            problems.append("ループバック・プライベートアドレスには送れません")
    return problems


class _DeadlineStream(httpcore.NetworkStream):
    """Caps every socket operation by what is left of the request's total time."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    @staticmethod
    def _left(timeout: float | None, error: type[Exception]) -> float | None:
        deadline = _deadline.get()
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("total request time exceeded")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedBackend(SyncBackend):
    """httpcore's socket backend, resolving and vetting the host itself."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _DeadlineStream._left(timeout, httpcore.ConnectTimeout)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"DNS lookup failed for {host}: {exc}") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        allowed = [a for a in addresses if address_allowed(a, self.allow_private)]
        if not allowed:
            raise AddressRefused(f"{host} resolves only to refused addresses {addresses}")
        last: Exception | None = None
        for address in allowed:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address,
                                             socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"could not connect to {host}")


@contextlib.contextmanager
def deadline(seconds: float):
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)
