"""A real HTTP server on loopback standing in for Slack's incoming webhook (sandbox, tests)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookSink:
    """Records every POST; answers from ``script`` (status codes), then 200 forever."""

    def __init__(self, script: list[int] | None = None):
        self.script = list(script or [])
        self.posts: list[dict] = []
        self.paths: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.posts.append(json.loads(body))
                sink.paths.append(self.path)
                status = sink.script.pop(0) if sink.script else 200
                text = {200: b"ok", 429: b"rate_limited", 404: b"no_service", 403: b"invalid_token"}.get(
                    status, b"error"
                )
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The local webhook's URL, shaped like a Slack incoming-webhook URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXXsecretXXXX"

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
