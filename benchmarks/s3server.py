"""A minimal S3 over HTTP serving files from a directory: HEAD and GET with Range and
If-Match, path-style. Enough for boto3's get_object/head_object, so that benchmark reads
are real ranged HTTP requests without keeping gigabytes in a mock's memory."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


def etag(path: Path) -> str:
    stat = path.stat()
    return '"' + hashlib.md5(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest() + '"'


def make_handler(root: Path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as separate writes: without this, Nagle + delayed
            # ACK add ~40 ms to every small response, which real S3 does not.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _path(self) -> Path | None:
            path = (root / unquote(urlparse(self.path).path).lstrip("/")).resolve()
            return path if path.is_file() and root in path.parents else None

        def _missing(self) -> None:
            body = b"<Error><Code>NoSuchKey</Code></Error>"
            self.send_response(404)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            path = self._path()
            if path is None:
                return self._missing()
            self.send_response(200)
            self.send_header("Content-Length", str(path.stat().st_size))
            self.send_header("ETag", etag(path))
            self.send_header("Last-Modified", self.date_time_string(path.stat().st_mtime))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            path = self._path()
            if path is None:
                return self._missing()
            size, tag = path.stat().st_size, etag(path)
            if self.headers.get("If-Match") and self.headers["If-Match"] != tag:
                self.send_response(412)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end, status = 0, size - 1, 200
            match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
                end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                status = 206
            self.send_response(status)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("ETag", tag)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            with open(path, "rb") as fh:
                fh.seek(start)
                remaining = end - start + 1
                while remaining:
                    chunk = fh.read(min(remaining, 1 << 20))
                    self.wfile.write(chunk)
                    remaining -= len(chunk)

        def log_message(self, *args) -> None:
            pass

    return Handler


def serve(root: Path, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(root.resolve()))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":  # python -m benchmarks.s3server <root>: prints the port, serves until killed
    server = serve(Path(sys.argv[1]))
    print(server.server_address[1], flush=True)
    threading.Event().wait()
    os._exit(0)
