"""Real servers on 127.0.0.1 for delivery tests and benchmarks: an HTTP sink that records
what it receives and answers as told, and sockets that hang or trickle."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class Sink:
    """``respond(received, n)`` returns ``(status, headers)`` for the n-th request (0-based)."""

    def __init__(self, respond=None, delay: float = 0.0):
        self.received: list[Received] = []
        self.respond = respond or (lambda _r, _n: (204, {}))
        self.delay = delay
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request: a real receiver never saw a whole message.
                    self.close_connection = True
                    return
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with sink._lock:
                    sink.received.append(got)
                    n = len(sink.received) - 1
                if sink.delay:
                    time.sleep(sink.delay)
                status, headers = sink.respond(got, n)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> list[str]:
        with self._lock:
            return [r.headers.get("webhook-id") for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections and then, per ``mode``, never answers ("hang") or answers one byte
    at a time forever ("trickle"), to prove the client's time limits."""

    def __init__(self, mode: str = "hang", interval: float = 0.2):
        self.mode, self.interval = mode, interval
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.stopped.wait(self.interval):
                conn.sendall(b"X-Slow: a\r\n")
        except OSError:
            pass

    def close(self):
        self.stopped.set()
        self.sock.close()
        for conn in self.connections:
            conn.close()
