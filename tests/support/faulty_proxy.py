"""A loopback HTTP proxy in front of a real server that fails the requests a test chooses: an
outage, or an answer lost after the server acted, without touching the server."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


@dataclass
class Fault:
    """Answer 503 to the next `times` requests whose method is `method` (any when empty) and
    whose path holds `path`; `forward`: send each to the server first (it acts, its answer is
    lost); `after`: only once that fault has been used up."""

    times: int
    path: str = ""
    method: str = ""
    forward: bool = False
    after: Fault | None = None
    used: int = 0

    def applies(self, method: str, path: str) -> bool:
        return (
            self.used < self.times
            and (not self.method or method == self.method)
            and self.path in path
            and (self.after is None or self.after.used >= self.after.times)
        )


@dataclass
class Seen:
    method: str
    path: str
    status: int


@dataclass
class FaultyProxy:
    upstream: str
    faults: list[Fault]
    seen: list[Seen] = field(default_factory=list)
    uri: str = ""

    def answered(self, method: str, path: str) -> list[int]:
        """The statuses the proxy gave the client for requests like these, in order."""
        return [s.status for s in self.seen if s.method == method and path in s.path]


@contextmanager
def faulty_proxy(upstream: str, faults: list[Fault]) -> Iterator[FaultyProxy]:
    """A proxy on 127.0.0.1 forwarding to `upstream` (http://host:port), failing as `faults` say."""
    proxy = FaultyProxy(upstream, faults)
    target = urlparse(upstream)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # the test reads `proxy.seen`, not stderr
            pass

        def _handle(self) -> None:
            body = self._body()
            with lock:
                fault = next((f for f in proxy.faults if f.applies(self.command, self.path)), None)
                if fault is not None:
                    fault.used += 1
            if fault is None or fault.forward:
                status, headers, answer = self._forward(body)
            if fault is not None:
                status, headers, answer = 503, [("Content-Type", "text/plain")], b"injected outage"
            with lock:
                proxy.seen.append(Seen(self.command, self.path, status))
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().strip().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                connection.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy.uri = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
