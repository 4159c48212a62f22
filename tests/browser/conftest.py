"""Browser tests: the app served on 127.0.0.1, driven by Debian's chromium through Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium. Without it the tests skip with
the reason (fail under CI=true). Each page is guarded: a request to anywhere but the served app
is aborted and fails the test, since municipal networks reach nothing outside.
"""

import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import need

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(items):
    # The served app answers from its own threads, which must see what the test wrote.
    for item in items:
        if Path(item.fspath).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.real_commits)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    need("Chromium", None if CHROMIUM.exists() else f"{CHROMIUM} not found (apt-get install "
                                                     "chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A counter's office PC: Japanese, Tokyo time, a 1366×768 screen.
    return {**browser_context_args, "locale": "ja-JP", "timezone_id": "Asia/Tokyo",
            "viewport": {"width": 1366, "height": 768}}


class LiveServer:
    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="live-server")
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    yield server
    server.close()


@pytest.fixture
def outside_requests() -> list[str]:
    """Every request the page tried to send anywhere but the served app (each was aborted)."""
    return []


_ANSWERED_4XX = "Failed to load resource: the server responded with a status of 4"


@pytest.fixture
def console_errors() -> list[str]:
    """What the browser's console reported as errors (a CSP refusal among them)."""
    return []


@pytest.fixture
def console_page(page, live_server, outside_requests, console_errors):
    """A Playwright page on the served app; a request leaving it, or a console error, fails
    the test."""
    outside = outside_requests

    def record(msg):
        # A refused form answers 422 on purpose; chromium logs every 4xx page as an error.
        if msg.type == "error" and not msg.text.startswith(_ANSWERED_4XX):
            console_errors.append(msg.text)

    page.on("console", record)

    def guard(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or (
                parts.hostname == "127.0.0.1" and parts.port == live_server.port):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.context.route("**/*", guard)
    page.base = live_server.url
    yield page
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not console_errors, f"errors in the browser's console: {console_errors}"
