"""What the README tells a user to run or open exists: commands, Makefile targets, files."""

import re
import subprocess
import sys

import pytest

from components.workspace import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
# Text a user would copy: inline code and fenced blocks.
CODE = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", README, re.S) + re.findall(r"`([^`\n]+)`", README))
LINKS = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)
# Files the README asks the user to make, not files of the project.
USERS_OWN = {"certs/ca.pem", "out.json"}
PATH = re.compile(r"^[A-Za-z0-9_.<>*/-]+\.(?:py|md|yaml|yml|txt|sql|toml|urns|json|pem|version)$|^[a-z_]+/$")


def _help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cloudbridge", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_opens_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    assert [line.split()[:2] for line in first_block.splitlines()] == [["make", "demo"], ["make", "test"]]


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))
    named = set(re.findall(r"(?:^|[\s;(])make ([a-z][a-z-]*)", CODE, re.M))
    assert named and named <= targets, named - targets


def test_every_cli_command_the_readme_names_exists():
    named = set(re.findall(r"python -m cloudbridge ([a-z][a-z-]*)", CODE))
    listed = set(re.findall(r"^\s+([a-z][a-z-]*)\s", _help(), re.M))
    assert named and named <= listed, named - listed


def _exists(reference: str) -> bool:
    reference = reference.strip().rstrip("/")
    pattern = re.sub(r"<[^>]+>", "*", reference)
    if "/" in pattern:
        return any(REPO_ROOT.glob(pattern))
    return any(p for p in REPO_ROOT.rglob(pattern) if ".venv" not in p.parts and ".git" not in p.parts)


@pytest.mark.parametrize("kind", ["code", "links"])
def test_every_file_the_readme_names_exists(kind):
    words = [w for w in re.split(r"[\s,|]+", CODE) if PATH.match(w)] if kind == "code" else LINKS
    missing = sorted({w for w in words if w not in USERS_OWN and not _exists(w)})
    assert words and not missing, missing
