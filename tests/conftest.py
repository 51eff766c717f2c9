import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 15 server started from the machine's binaries for this session."""
    from cloudbridge.localpg import LocalPostgres

    with LocalPostgres(database="source") as server:
        yield server
