"""Where a stack's own files are: its stack file, its table metadata and its CA bundles.

By default that is the repository itself (``Pulumi.<stack>.yaml``, ``metadata/``,
``bootstrap/Pulumi.<stack>.yaml``, certificate files). ``CLOUDBRIDGE_STACKS_DIR`` names
another folder laid out the same way: the test suite points it at the stacks it owns
(``tests/fixtures/stacks``), so the program's tests never read a team's own stack files,
and a fork's edits to them cannot turn the suite red. The program's code (``__main__.py``,
``components/``, ``functions/``) always comes from the repository.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR_ENV = "CLOUDBRIDGE_STACKS_DIR"
METADATA_DIR_ENV = "CLOUDBRIDGE_METADATA_DIR"
# The stacks the test suite and the benchmarks own, laid out like the repository.
FIXTURE_STACKS = REPO_ROOT / "tests" / "fixtures" / "stacks"


def stacks_dir() -> Path:
    """The folder with the CloudBridge stack files (the repository unless ``CLOUDBRIDGE_STACKS_DIR``)."""
    value = os.environ.get(STACKS_DIR_ENV)
    return Path(value).resolve() if value else REPO_ROOT


def metadata_root() -> Path:
    """The committed table metadata: ``metadata/`` beside the stack files, or ``CLOUDBRIDGE_METADATA_DIR``."""
    value = os.environ.get(METADATA_DIR_ENV)
    return Path(value).resolve() if value else stacks_dir() / "metadata"


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def using(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Read stack files and metadata from ``folder`` for the duration (tests, the fork check)."""
    return environment({STACKS_DIR_ENV: str(folder), METADATA_DIR_ENV: None})
