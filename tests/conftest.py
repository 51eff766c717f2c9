import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The program is tested on the stacks the tests own, never on a team's own Pulumi.*.yaml
# (which only the stack-agnostic checks in tests/stacks read): a fork's accounts, region,
# repository and sources cannot turn this suite red. Child processes inherit it.
from components.workspace import FIXTURE_STACKS, METADATA_DIR_ENV, STACKS_DIR_ENV  # noqa: E402

os.environ[STACKS_DIR_ENV] = str(FIXTURE_STACKS)
os.environ.pop(METADATA_DIR_ENV, None)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 15 server started from the machine's binaries for this session."""
    from cloudbridge.localpg import LocalPostgres

    with LocalPostgres(database="source") as server:
        yield server


def pytest_collection_modifyitems(items):
    """Files with slow tests first (order otherwise kept): with ``make test``'s workers, a long
    file taken last would leave the other workers idle while it runs."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
