"""A throw-away PostgreSQL server from the machine's own binaries (initdb, pg_ctl).

Temp data directory, a free loopback port, logical decoding on, trust authentication
on loopback only; stopped and removed on exit. Used by the tests and the local sandbox.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl: PATH first, then Debian's versioned dirs."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresUnavailableError("initdb not found: install PostgreSQL server binaries (apt-get install postgresql)")


def free_port() -> int:
    """A TCP port on loopback that is free now (it may be taken before it is used: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """A throw-away PostgreSQL server from the machine's own binaries, in a temp directory, with logical decoding on."""

    def __init__(self, database: str = "cloudbridge", settings: dict[str, str] | None = None):
        self.database = database
        self.settings = {
            "wal_level": "logical",
            "max_replication_slots": "8",
            "max_wal_senders": "8",
            "fsync": "off",  # a throw-away server: speed over durability
            "full_page_writes": "off",
            **(settings or {}),
        }
        self.bin = find_bin_dir()
        self.port = 0
        self.root: Path | None = None
        self._user: str | None = None

    @property
    def dsn(self) -> str:
        """SQLAlchemy URL (psycopg 3)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        """libpq connection string."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={self.database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._user:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> LocalPostgres:
        """Create the cluster and start the server on a free loopback port; raises when it cannot."""
        self.root = Path(tempfile.mkdtemp(prefix="cloudbridge-pg-"))
        data, sockets = self.root / "data", self.root / "sockets"
        sockets.mkdir()
        if os.geteuid() == 0:
            self._user = "postgres"
            try:
                entry = pwd.getpwnam(self._user)
            except KeyError:
                raise PostgresUnavailableError(
                    "running as root needs a 'postgres' system user to run the server"
                ) from None
            for path in (self.root, sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(self.bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        last_error = None
        for _ in range(5):  # the port may be taken between choosing and binding it
            self.port = free_port()
            try:
                self._run(
                    self.bin / "pg_ctl", "-D", data, "-w", "-t", "60", "-l", self.root / "server.log",
                    "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {sockets} {options}", "start",
                )  # fmt: skip
                break
            except subprocess.CalledProcessError as exc:
                last_error = exc
        else:
            raise RuntimeError(f"PostgreSQL did not start: {self.log()[-2000:]}") from last_error
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)
        return self

    def log(self) -> str:
        """The server's log so far (empty before it starts)."""
        path = self.root / "server.log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def stop(self) -> None:
        """Stop the server at once and remove its directory; safe to call twice."""
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run(self.bin / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
