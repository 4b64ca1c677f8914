"""``board --serve``: the board on 127.0.0.1, refreshed when the tasks change.

The page asks ``/api/version`` every few seconds (a short hash: no task data); when it changed it
fetches ``/api/board`` (the same JSON the static page embeds) and redraws, keeping the filter and the
open task. A card's history comes from ``/api/history?uuid=…`` when it is opened. The server binds
the loopback address only, answers GET only, and refuses a Host header other than its own address
(so a web page elsewhere cannot reach it through DNS rebinding). Ctrl-C stops it.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import page

HOST = "127.0.0.1"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class BoardServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backlog: Any, options: page.Options, port: int) -> None:
        super().__init__((HOST, port), _Handler)
        self.backlog = backlog
        self.options = options
        self.lock = threading.Lock()
        self._cache: dict[str, tuple[str, bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def hosts(self) -> set[str]:
        port = self.server_address[1]
        return {f"{HOST}:{port}", f"localhost:{port}"}

    def cached(self, name: str, build: Any) -> bytes:
        """The page or the board JSON for the current version, rebuilt only when the tasks changed."""
        with self.lock:
            key = page.version(self.backlog, self.options)
            hit = self._cache.get(name)
            if hit is None or hit[0] != key:
                data = page.payload(self.backlog, self.options)
                hit = (data["key"], build(data))
                self._cache[name] = hit
            return hit[1]

    def version(self) -> str:
        with self.lock:
            return page.version(self.backlog, self.options)

    def history(self, task_uuid: str) -> list[dict[str, Any]]:
        from ..engine.review import history_at

        with self.lock:
            at = self.options.at and page.version(self.backlog, self.options)
            return list(page.engine_read(self.backlog, lambda state: history_at(state, task_uuid, at or None)))


class _Handler(BaseHTTPRequestHandler):
    server: BoardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        return

    def do_GET(self) -> None:
        if self.headers.get("Host", "") not in self.server.hosts():
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"Unknown host.\n")
            return
        parts = urlsplit(self.path)
        route = parts.path
        try:
            if route in ("/", "/index.html"):
                body = self.server.cached("page", lambda d: page.render_html(d).encode("utf-8"))
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", body)
            elif route == "/api/version":
                self._json({"key": self.server.version()})
            elif route == "/api/board":
                body = self.server.cached("board", lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8"))
                self._send(HTTPStatus.OK, "application/json", body)
            elif route == "/api/history":
                task_uuid = (parse_qs(parts.query).get("uuid") or [""])[0]
                if not UUID_RE.match(task_uuid):
                    self._json({"error": "uuid must be a task uuid"}, HTTPStatus.BAD_REQUEST)
                else:
                    self._json(self.server.history(task_uuid))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"Not found.\n")
        except Exception as exc:  # one failed request must not stop the server
            self._json({"error": f"{type(exc).__name__}: {exc}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, "application/json", json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)


def run(backlog: Any, options: page.Options, port: int) -> int:
    """Serve until Ctrl-C."""
    server = BoardServer(backlog, options, port)
    print(f"Serving the board at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
    finally:
        server.server_close()
    return 0
