"""The GitHub workflows: promotion chain, environments, OIDC, pinning, every stack wired."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cloudbridge.plan import PROJECT_ROOT, stacks

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
PROMOTION = ["dev", "preprod", "prod"]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def all_workflows():
    return {p.name: load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def steps(job):
    return job.get("steps", [])


def action(step):
    return step.get("uses", "").split("@")[0]


def matrix_stacks(job):
    return [entry["stack"] for entry in job["strategy"]["matrix"]["include"]]


def wiring_problems(stack_names, workflows):
    """Stacks that a workflow does not preview, deploy or drift-check."""
    problems = []
    preview = matrix_stacks(workflows["preview.yml"]["jobs"]["preview"])
    drift = matrix_stacks(workflows["drift.yml"]["jobs"]["drift"])
    deployed = [job.get("with", {}).get("stack") for job in workflows["deploy.yml"]["jobs"].values()]
    for stack in stack_names:
        if stack not in preview:
            problems.append(f"{stack}: no preview job")
        if stack not in drift:
            problems.append(f"{stack}: no drift check")
        if stack not in deployed:
            problems.append(f"{stack}: never deployed")
    return problems


def test_every_stack_file_is_previewed_deployed_and_drift_checked():
    assert stacks() == sorted(PROMOTION)
    assert wiring_problems(stacks(), all_workflows()) == []


def test_a_new_stack_file_without_wiring_fails(tmp_path, monkeypatch):
    import cloudbridge.plan as plan

    for stack in stacks():
        shutil.copy(PROJECT_ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text("config: {}\n")
    monkeypatch.setattr(plan, "PROJECT_ROOT", tmp_path)
    assert wiring_problems(plan.stacks(), all_workflows()) == [
        "staging: no preview job",
        "staging: no drift check",
        "staging: never deployed",
    ]


def test_promotion_chain_dev_preprod_prod():
    jobs = load("deploy.yml")["jobs"]
    assert load("deploy.yml")["on"] == {"push": {"branches": ["main"]}}
    assert jobs["deploy-dev"]["needs"] == "test"
    assert jobs["deploy-preprod"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["needs"] == "deploy-preprod"
    assert any("bash .ci/run" in s.get("run", "") for s in steps(jobs["test"]))


UP = "$/.github/workflows/pulumi-up.yml"  # GitHub's self-repository reference


@pytest.mark.parametrize("stack", PROMOTION)
def test_each_deployment_is_the_one_reusable_workflow_in_its_environment(stack):
    job = load("deploy.yml")["jobs"][f"deploy-{stack}"]
    assert job["uses"] == UP and job["with"] == {"stack": stack}
    assert set(job.get("secrets", {})) <= {"PULUMI_ACCESS_TOKEN"}, "secrets are passed by name, never inherited"


def test_the_reusable_deployment_runs_in_the_stacks_environment_one_at_a_time():
    workflow = load("pulumi-up.yml")
    assert set(workflow["on"]) == {"workflow_call"} and workflow["on"]["workflow_call"]["inputs"]["stack"]["required"]
    [job] = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    up = next(s for s in steps(job) if action(s) == "pulumi/actions")
    assert up["with"]["command"] == "up" and up["with"]["stack-name"].endswith("${{ inputs.stack }}")
    callers = [(name, j) for name, w in all_workflows().items() for j in w["jobs"].values() if j.get("uses") == UP]
    assert {name for name, _ in callers} == {"deploy.yml"} and len(callers) == len(PROMOTION)


def test_every_pulumi_step_installs_the_one_pinned_cli_version():
    version = (PROJECT_ROOT / ".pulumi.version").read_text().strip()
    assert re.fullmatch(r"3\.\d+\.\d+", version), "an exact version, not a range"
    sdk = re.search(r"^pulumi>=3\.(\d+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert int(version.split(".")[1]) >= int(sdk.group(1)), "the CLI is at least the SDK's minimum"
    found = 0
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in steps(job):
                if action(step) == "pulumi/actions":
                    found += 1
                    assert step["with"].get("pulumi-version-file") == ".pulumi.version", name
                    assert "pulumi-version" not in step["with"], name
    assert found >= 3


def test_preview_on_pull_requests_posts_the_diff():
    workflow = load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    job = workflow["jobs"]["preview"]
    preview = next(s for s in steps(job) if action(s) == "pulumi/actions")
    assert preview["with"]["command"] == "preview" and preview["with"]["comment-on-pr"] is True
    assert job["permissions"]["pull-requests"] == "write"


def test_drift_compares_with_aws_without_writing_state_and_alerts():
    """preview --refresh refreshes in memory and persists nothing: the read-only role suffices."""
    workflow = load("drift.yml")
    assert "schedule" in workflow["on"]
    job = workflow["jobs"]["drift"]
    pulumi_steps = [s for s in steps(job) if action(s) == "pulumi/actions"]
    assert [s["with"]["command"] for s in pulumi_steps] == ["preview"]
    assert pulumi_steps[0]["with"]["refresh"] is True and pulumi_steps[0]["with"]["expect-no-changes"] is True
    alert = steps(job)[-1]
    assert alert["if"] == "failure()" and "aws sns publish" in alert["run"]
    assert job["concurrency"]["cancel-in-progress"] is False


def _roles_and_secrets(job):
    text = json.dumps(job)
    return set(re.findall(r"vars\.(AWS_\w+ROLE\w*)", text)), set(re.findall(r"secrets\.(\w+)", text))


@pytest.mark.parametrize(("workflow", "job"), [("preview.yml", "preview"), ("drift.yml", "drift")])
def test_untrusted_and_scheduled_paths_never_reference_deploy_rights(workflow, job):
    """Pull-request code and the drift check run with the preview roles only: no deploy role,
    only the read-only `preview` environment (never one whose variables hold a deploy role),
    no passphrase."""
    definition = load(workflow)["jobs"][job]
    roles, secrets = _roles_and_secrets(definition)
    assert roles == {"AWS_PREVIEW_ROLE_ARN_DEV", "AWS_PREVIEW_ROLE_ARN_PREPROD", "AWS_PREVIEW_ROLE_ARN_PROD"}
    assert definition["environment"] == "preview" and "preview" not in PROMOTION
    assert secrets <= {"PULUMI_PREVIEW_TOKEN"}, secrets
    assert "PASSPHRASE" not in (WORKFLOWS / workflow).read_text() and "deploy" not in json.dumps(definition).lower()


def test_only_the_gated_deploy_jobs_hold_the_deploy_role():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            roles, _ = _roles_and_secrets(job)
            if "AWS_DEPLOY_ROLE_ARN" in roles:  # only the reusable deployment, in the stack's environment
                assert name == "pulumi-up.yml" and job.get("environment") == "${{ inputs.stack }}", f"{name}:{job_name}"
    text = "".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert "PULUMI_CONFIG_PASSPHRASE" not in text  # state and stack secrets use the KMS secrets provider


def test_stack_files_hold_no_secret_values():
    for stack in stacks():
        text = (PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()
        assert "secure:" not in text, f"Pulumi.{stack}.yaml: secrets belong in Secrets Manager, referenced by ARN"


def test_aws_access_only_through_oidc():
    for name, workflow in all_workflows().items():
        text = (WORKFLOWS / name).read_text()
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, name
        for job_name, job in workflow["jobs"].items():
            assumes = [s for s in steps(job) if action(s) == "aws-actions/configure-aws-credentials"]
            for step in assumes:
                assert job["permissions"].get("id-token") == "write", f"{name}:{job_name}"
                assert step["with"]["role-to-assume"].startswith("${{ "), f"{name}:{job_name}"


def test_permissions_are_minimal():
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {}, f"{name}: top-level permissions must be empty"
        for job_name, job in workflow["jobs"].items():
            granted = job.get("permissions", {})
            assert granted.get("contents") == "read", f"{name}:{job_name}"
            assert set(granted) <= {"contents", "id-token", "pull-requests"}, f"{name}:{job_name}"
            assert all(v in ("read", "write") for v in granted.values())


def test_actions_are_pinned_to_full_commit_shas():
    for name in all_workflows():
        for line in (WORKFLOWS / name).read_text().splitlines():
            match = re.match(r"^\s*(?:- )?uses:\s*(\S+)(\s+# v[\d.]+)?$", line)
            if match and match.group(1).startswith(("./", "$/")):
                continue  # a workflow of this repository, at this commit
            if match:
                assert PINNED.match(match.group(1)), f"{name}: {match.group(1)} is not pinned to a commit"
                assert match.group(2), f"{name}: {match.group(1)} has no version comment"


def test_no_untrusted_triggers_or_interpolation_in_scripts():
    for name, workflow in all_workflows().items():
        assert "pull_request_target" not in workflow["on"], name
        assert "workflow_run" not in workflow["on"], name
        for job in workflow["jobs"].values():
            for step in steps(job):
                assert "${{" not in step.get("run", ""), f"{name}: expression interpolated into run:"
            for step in steps(job):
                if action(step) == "actions/checkout":
                    assert step["with"]["persist-credentials"] is False


def test_zizmor_finds_nothing():
    zizmor = Path(sys.executable).parent / "zizmor"
    assert zizmor.exists(), "zizmor is in requirements-dev.txt"
    result = subprocess.run(
        [str(zizmor), "--offline", "--persona", "auditor", "--format", "json", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [] and result.returncode == 0, result.stdout[:2000] + result.stderr[-2000:]
