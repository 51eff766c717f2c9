"""Lambda archives are deterministic: same sources, same bytes, same hash."""

import os
import zipfile

from components.packaging import FUNCTIONS_DIR, archive_bytes, build_bundle


def test_same_sources_give_the_same_archive(tmp_path):
    first = build_bundle("validator", ("common", "validator"), build_dir=tmp_path / "a")
    # Touch every source (new mtimes) and leave bytecode around: neither may matter.
    for path in FUNCTIONS_DIR.rglob("*.py"):
        os.utime(path)
    cache = FUNCTIONS_DIR / "validator" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "stray.cpython-311.pyc").write_bytes(b"\0")
    try:
        second = build_bundle("validator", ("common", "validator"), build_dir=tmp_path / "b")
    finally:
        (cache / "stray.cpython-311.pyc").unlink()
    assert first.sha256_b64 == second.sha256_b64
    assert first.path.read_bytes() == second.path.read_bytes()


def test_archive_holds_the_handler_packages_only(tmp_path):
    bundle = build_bundle("slack_alerts", ("common", "slack_alerts"), vendored=("slack_sdk",), build_dir=tmp_path)
    names = zipfile.ZipFile(bundle.path).namelist()
    assert names == sorted(names)
    assert "functions/slack_alerts/handler.py" in names and "functions/common/dms.py" in names
    assert not any(n.startswith("functions/validator/") for n in names)
    assert not any(n.endswith(".pyc") for n in names)
    assert "slack_sdk/webhook/client.py" in names  # vendored: the Lambda runtime lacks it
    info = zipfile.ZipFile(bundle.path).getinfo("functions/slack_alerts/handler.py")
    assert info.date_time == (1980, 1, 1, 0, 0, 0)


def test_code_change_changes_the_hash():
    before = archive_bytes(("common",))
    probe = FUNCTIONS_DIR / "common" / "_probe.py"
    probe.write_text("X = 1\n")
    try:
        assert archive_bytes(("common",)) != before
    finally:
        probe.unlink()


def test_two_evaluations_declare_identical_functions(plans):
    from cloudbridge.plan import evaluate

    again = evaluate("dev")
    for function in plans("dev").of_type("aws:lambda/function:Function"):
        twin = again.named(function.name, function.type)
        assert twin.inputs["sourceCodeHash"] == function.inputs["sourceCodeHash"]
        assert twin.inputs == function.inputs
