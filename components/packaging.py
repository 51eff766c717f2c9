"""Deterministic Lambda archives.

The same sources always give byte-identical zips (sorted entries, fixed timestamps and
modes, no bytecode), so ``source_code_hash`` only changes when the code does and a
second preview shows no diff.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"
BUILD_DIR = PROJECT_ROOT / ".build" / "lambda"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_INCLUDED_SUFFIXES = {".py", ".json"}
# Logger, Metrics and Parameters of AWS Lambda Powertools (functions/common/observability.py),
# with the one module of its own dependencies the Lambda runtime does not have.
POWERTOOLS = ("aws_lambda_powertools", "typing_extensions")


@dataclass(frozen=True)
class LambdaBundle:
    """A built Lambda archive and its hash."""

    name: str
    path: Path
    sha256_b64: str  # what Lambda reports as CodeSha256
    size: int


def _vendored(package: str) -> list[tuple[str, Path]]:
    """An installed third-party package, copied into the archive root (pinned in
    requirements.txt so that every machine builds the same bytes)."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise FileNotFoundError(f"{package} is not installed: pip install -r requirements.txt")
    if not spec.submodule_search_locations:  # a single-module distribution (typing_extensions)
        return [(f"{package}.py", Path(spec.origin))]
    root = Path(next(iter(spec.submodule_search_locations)))
    return [
        (f"{package}/{path.relative_to(root).as_posix()}", path)
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def _files(packages: tuple[str, ...], vendored: tuple[str, ...] = ()) -> list[tuple[str, Path]]:
    entries = [("functions/__init__.py", FUNCTIONS_DIR / "__init__.py")]
    for package in vendored:
        entries += _vendored(package)
    for package in packages:
        root = FUNCTIONS_DIR / package
        if not (root / "__init__.py").is_file():
            raise FileNotFoundError(f"functions/{package} is not a Python package")
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in _INCLUDED_SUFFIXES and "__pycache__" not in path.parts:
                entries.append((path.relative_to(PROJECT_ROOT).as_posix(), path))
    return sorted(entries)


def archive_bytes(packages: tuple[str, ...], vendored: tuple[str, ...] = ()) -> bytes:
    """The zip of ``packages`` (and vendored ones), byte-identical for the same sources."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, path in _files(packages, vendored):
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the build host
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def build_bundle(
    name: str, packages: tuple[str, ...], vendored: tuple[str, ...] = (), build_dir: Path = BUILD_DIR
) -> LambdaBundle:
    """Write ``<build_dir>/<name>.zip`` (only if its content changed) and describe it."""
    data = archive_bytes(packages, vendored)
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{name}.zip"
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return LambdaBundle(name=name, path=path, sha256_b64=digest, size=len(data))
