"""A minimal S3 over HTTP serving files from a directory: HEAD and GET with Range and
If-Match, path-style. Enough for boto3's get_object/head_object, so that benchmark reads
are real ranged HTTP requests without keeping gigabytes in a mock's memory.

Shaped like S3 seen from a Lambda, with fixed figures (``Shape``): a delay to the first
byte of every request, a bandwidth cap per connection, and a cap on requests served at
once. Floors for the benchmarks are computed from the same figures."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


def etag(path: Path) -> str:
    """A stable ETag for a file's current content (size and mtime stand in for a hash of its bytes)."""
    stat = path.stat()
    return '"' + hashlib.md5(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest() + '"'


@dataclass(frozen=True)
class Shape:
    """The modelled S3: delay to the first byte, bandwidth per connection, connections at once."""

    first_byte_seconds: float = 0.020  # to the first byte of each response
    bytes_per_second: float = 80 * 1024 * 1024  # per connection
    connections: int = 8  # requests served at once; more wait

    def floor(self, requests: int, nbytes: int, rounds: int = 1) -> float:
        """Least wall time for ``requests`` GETs moving ``nbytes`` in all, ``rounds`` of them
        dependent (the footer must be read before the chunks it locates)."""
        waves = max(rounds, -(-requests // self.connections))
        return waves * self.first_byte_seconds + nbytes / (
            min(max(requests, 1), self.connections) * self.bytes_per_second
        )


UNSHAPED = Shape(0.0, float("inf"), 1 << 16)


def make_handler(root: Path, shape: Shape = UNSHAPED) -> type[BaseHTTPRequestHandler]:
    """A handler class serving ``root`` shaped by ``shape`` (its connection limit shared)."""
    return type(
        "Handler", (_Handler,), {"root": root, "shape": shape, "slots": threading.BoundedSemaphore(shape.connections)}
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    shape: Shape
    slots: threading.BoundedSemaphore

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle + delayed
        # ACK add ~40 ms to every small response, which real S3 does not.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _path(self) -> Path | None:
        path = (self.root / unquote(urlparse(self.path).path).lstrip("/")).resolve()
        return path if path.is_file() and self.root in path.parents else None

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
        self._send_shaped(path, start, end)

    def _send_shaped(self, path: Path, start: int, end: int) -> None:
        """The body, after the first-byte delay, no faster than one connection's bandwidth."""
        shape = self.shape
        with self.slots:
            if shape.first_byte_seconds:
                time.sleep(shape.first_byte_seconds)
            self.end_headers()
            began = time.perf_counter()
            sent = 0
            with open(path, "rb") as fh:
                fh.seek(start)
                remaining = end - start + 1
                while remaining:
                    chunk = fh.read(min(remaining, 256 * 1024))
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
                    sent += len(chunk)
                    ahead = sent / shape.bytes_per_second - (time.perf_counter() - began)
                    if ahead > 0:
                        time.sleep(ahead)

    def log_message(self, *args) -> None:
        pass


def serve(root: Path, port: int = 0, shape: Shape = UNSHAPED) -> ThreadingHTTPServer:
    """Serve ``root``'s files as objects of one bucket on loopback, shaped by ``shape``, in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(root.resolve(), shape))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":  # python -m benchmarks.s3server <root> [shaped]: prints the port, serves until killed
    server = serve(Path(sys.argv[1]), shape=Shape() if sys.argv[2:] == ["shaped"] else UNSHAPED)
    print(server.server_address[1], flush=True)
    threading.Event().wait()
    os._exit(0)
