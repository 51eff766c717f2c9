"""A fork stays green: other accounts, region and repository, a source added and one removed.

The tree is copied as it is (this repository's own stacks, whatever they are), changed the
way a team changes a fresh fork, and the stack-agnostic checks run on the copy in a child
process exactly as CI would run them. Removing a source fails the URN guard until the one
documented acknowledgement (``python -m cloudbridge urns accept``) is committed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.workspace import METADATA_DIR_ENV, REPO_ROOT, STACKS_DIR_ENV

ACCOUNTS = ["123456789012", "210987654321", "345678901234"]
REGION = "us-east-1"
REPOSITORY = "acme/data-pipes"
ADDED_PREFIX = "forked"
IGNORED = shutil.ignore_patterns(".git", ".venv", ".build", "__pycache__", ".pytest_cache", ".ruff_cache", ".data")


def run(tree, *args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in (STACKS_DIR_ENV, METADATA_DIR_ENV)}
    return subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _retarget(path: Path, account: str, repository: str | None = None) -> None:
    """Put the stack file in another account and region (every ARN, host and id in it)."""
    text = path.read_text()
    config = yaml.safe_load(text)["config"]
    [old] = [v["id"] if isinstance(v, dict) else v for k, v in config.items() if k.endswith(":account")]
    text = text.replace(str(old), account).replace(config["aws:region"], REGION)
    if repository:
        text = re.sub(r"(:repository:\s*).*", rf"\g<1>{repository}", text)
    path.write_text(text)


def _unused_name(tree: Path) -> str:
    """A source name no stack file and no metadata folder of the tree uses yet."""
    taken = {p.name for p in (tree / "metadata").iterdir()} if (tree / "metadata").is_dir() else set()
    for path in tree.glob("Pulumi.*.yaml"):
        taken |= {s["name"] for s in yaml.safe_load(path.read_text())["config"].get("cloudbridge:sources", [])}
    return next(f"{ADDED_PREFIX}{i}" for i in range(1, 1000) if f"{ADDED_PREFIX}{i}" not in taken)


def _add_and_remove_a_source(tree: Path, stack: str) -> tuple[str, str]:
    """Add a copy of the stack's first source under a new name (its metadata copied) and remove
    its last one (the original, when it has only one): (added, removed)."""
    path = tree / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    sources = document["config"]["cloudbridge:sources"]
    template = sources[0]
    name = _unused_name(tree)
    added = {**json.loads(json.dumps(template)), "name": name}
    added.pop("rdsInstanceIdentifier", None)
    for metadata in (tree / "metadata" / template["name"]).rglob("*.json"):
        target = tree / "metadata" / name / metadata.relative_to(tree / "metadata" / template["name"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(metadata.read_text().replace(f'"source": "{template["name"]}"', f'"source": "{name}"'))
    removed = sources.pop()
    sources.append(added)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return name, removed["name"]


@pytest.mark.slow
def test_a_fork_with_its_own_accounts_region_repository_and_sources_passes_the_stack_checks(tmp_path):
    tree = tmp_path / "fork"
    shutil.copytree(REPO_ROOT, tree, ignore=IGNORED)
    stacks = sorted(p.name.split(".")[1] for p in tree.glob("Pulumi.*.yaml"))
    for i, stack in enumerate(stacks):
        _retarget(tree / f"Pulumi.{stack}.yaml", ACCOUNTS[i % len(ACCOUNTS)])
        bootstrap = tree / "bootstrap" / f"Pulumi.{stack}.yaml"
        if bootstrap.exists():
            _retarget(bootstrap, ACCOUNTS[i % len(ACCOUNTS)], REPOSITORY)
    changed = stacks[0]
    # The copy's record is brought up to date first, so the test holds whatever the repository recorded.
    assert run(tree, "-m", "cloudbridge", "urns", "accept", "--stack", changed).returncode == 0
    added, removed = _add_and_remove_a_source(tree, changed)

    # The removal is refused, naming the one acknowledgement and what happens to the data.
    guard = run(tree, "-m", "cloudbridge", "urns", "check", "--stack", changed)
    assert guard.returncode == 1, guard.stdout + guard.stderr
    assert f"python -m cloudbridge urns accept --stack {changed}" in guard.stderr
    assert f"{removed}-raw" in guard.stderr and "retainData" in guard.stderr
    assert added not in guard.stderr  # additions pass

    accept = run(tree, "-m", "cloudbridge", "urns", "accept", "--stack", changed)
    assert accept.returncode == 0, accept.stderr
    checks = run(tree, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/stacks", "-k", "not fork")
    assert checks.returncode == 0, checks.stdout[-4000:] + checks.stderr[-2000:]
    assert re.search(r"\d+ passed", checks.stdout)
