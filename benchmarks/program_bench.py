"""How evaluating the Pulumi program scales with the number of sources (under mocks).

Each count runs in a fresh process: N copies of the dev stack's postgres source, each
with its own metadata, evaluated by cloudbridge.plan.evaluate. Cost must grow linearly.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def config_with(n: int, metadata_dir: Path) -> dict:
    """The dev stack's config with ``n`` copies of its Postgres source, their table metadata written to
    ``metadata_dir``."""
    from cloudbridge.plan import read_stack_config
    from components.workspace import FIXTURE_STACKS

    config = read_stack_config("dev", FIXTURE_STACKS)
    template = next(s for s in config["cloudbridge:sources"] if s["engine"] == "postgres")
    sources = []
    for i in range(n):
        name = f"src{i:03d}"
        source = copy.deepcopy(template)
        source["name"] = name
        source["credentialsSecretArn"] = source["credentialsSecretArn"].replace(template["name"], name)
        sources.append(source)
        for path in (FIXTURE_STACKS / "metadata" / template["name"]).glob("*/*.json"):
            target = metadata_dir / name / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text().replace(f'"source": "{template["name"]}"', f'"source": "{name}"'))
    config["cloudbridge:sources"] = sources
    return config


def child(n: int) -> None:
    """In the fresh process: build the config, then time the evaluation alone."""
    import os

    import pulumi  # noqa: F401  (imports are not what is measured)
    import pulumi_aws  # noqa: F401

    from cloudbridge.plan import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        config = config_with(n, Path(tmp))
        os.environ["CLOUDBRIDGE_METADATA_DIR"] = tmp
        started = time.perf_counter()
        plan = evaluate("dev", config)
        elapsed = time.perf_counter() - started
    print(json.dumps({"sources": n, "seconds": elapsed, "resources": sum(r.custom for r in plan.resources)}))


def run(counts: list[int]) -> list[dict]:
    """Evaluate the program once per source count, each in its own process; seconds and resources."""
    results = []
    for n in counts:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.program_bench", str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=3600,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    shutil.rmtree(ROOT / ".build" / "bench", ignore_errors=True)
    child(int(sys.argv[1]))
