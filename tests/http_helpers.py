"""A local HTTP file server for download tests (127.0.0.1, a free port) that can misbehave on purpose.

It serves one body with ``Range`` support (206 + Content-Range), and can cut the connection after
some bytes (the first ``cut_requests`` requests), send a corrupted body, or ignore ``Range``.
Every request's Range header is recorded so tests can see that a download resumed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    body: bytes
    cut_after: int | None = None  # close the connection after this many body bytes ...
    cut_requests: int = 0  # ... for this many requests
    corrupt: bool = False  # flip a byte in the middle of the body
    ignore_range: bool = False
    ranges: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


def _handler(b: Behaviour):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            b.ranges.append(rng)
            body = bytearray(b.body)
            if b.corrupt:
                body[len(body) // 2] ^= 0xFF
            start = 0
            if rng and not b.ignore_range:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(body):
                    self._status(416, {"Content-Range": f"bytes */{len(body)}"})
                    return
                self._status(206, {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}",
                                   "Content-Length": str(len(body) - start)})
            else:
                self._status(200, {"Content-Length": str(len(body))})
            payload = bytes(body[start:])
            if b.cut_after is not None and len(b.statuses) <= b.cut_requests:
                payload = payload[: b.cut_after]
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True

        def _status(self, code: int, headers: dict[str, str]) -> None:
            b.statuses.append(code)
            self.send_response(code)
            for k, v in {**headers, "Accept-Ranges": "bytes", "Connection": "close"}.items():
                self.send_header(k, v)
            self.end_headers()

    return Handler


@contextlib.contextmanager
def serve(behaviour: Behaviour, path: str = "/speech_commands_v0.02.tar.gz") -> Iterator[str]:
    """Run the server in a thread; yields the URL of the file. Stopped (and joined) on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
