"""The delivery tests' sink counts only whole requests: a sender killed mid-body left no
message a real receiver could have acted on."""

import socket

from tests.http_sink import Sink


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw``, stop writing, and return all the server answered before it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
        return answer


def test_a_request_cut_off_mid_body_is_not_received_and_a_whole_one_is():
    sink = Sink()
    port = sink.server.server_address[1]
    try:
        cut = _exchange(port, b"POST /hook HTTP/1.1\r\nHost: x\r\ncontent-length: 40\r\n\r\n{\"da")
        assert cut == b"" and sink.received == []
        whole = _exchange(port, b"POST /hook HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n"
                                b"Connection: close\r\n\r\n{}")
        assert whole.startswith(b"HTTP/1.1 204")
        assert [r.body for r in sink.received] == [b"{}"]
    finally:
        sink.close()
