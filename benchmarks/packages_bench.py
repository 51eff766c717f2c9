"""Lambda deployment archives against Lambda's 250 MB unzipped limit, and the cold
import time of each handler module (fresh interpreter, median of several)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

from components.packaging import POWERTOOLS

ROOT = Path(__file__).resolve().parent.parent
LIMIT_UNZIPPED = 250 * 1024 * 1024
HANDLERS = {
    "validator": ("functions.validator.handler", ("common", "validator"), POWERTOOLS),
    "slack_alerts": ("functions.slack_alerts.handler", ("common", "slack_alerts"), ("slack_sdk", *POWERTOOLS)),
    "warehouse_sql": ("functions.warehouse_sql.handler", ("common", "warehouse_sql"), ()),
}


def unzipped_size(path: Path) -> int:
    """The sum of the archive members' uncompressed sizes: what Lambda's unzipped limit counts."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def installed_size(package: str) -> int:
    """Bytes an installed package takes on disk."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    root = Path(next(iter(spec.submodule_search_locations)))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def import_seconds(module: str, repeat: int = 5) -> float:
    """Median seconds to import ``module`` in a fresh interpreter (a cold start's import cost)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def run(build_dir: Path) -> list[dict]:
    """Build each function's bundle as a deploy does and measure its sizes and cold import."""
    from components.packaging import build_bundle

    results = []
    for name, (module, packages, vendored) in HANDLERS.items():
        bundle = build_bundle(name, packages, vendored=vendored, build_dir=build_dir)
        unzipped = unzipped_size(bundle.path)
        # The validator's pyarrow comes from the AWS SDK for pandas layer; its size is
        # estimated by the pyarrow installed here (the layer's largest part).
        layer = installed_size("pyarrow") if name == "validator" else 0
        results.append(
            {
                "function": name,
                "zipBytes": bundle.size,
                "unzippedBytes": unzipped,
                "layerEstimateBytes": layer,
                "shareOfLimit": (unzipped + layer) / LIMIT_UNZIPPED,
                "coldImportSeconds": import_seconds(module),
            }
        )
    return results
