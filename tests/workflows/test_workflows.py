"""The GitHub workflows: promotion chain, environments, OIDC, pinning, every stack wired.

Nothing here expects particular stack names: the preview and drift matrices are the stack
files (stacks.yml lists them), the promotion chain is whatever deploy.yml names, and the
one check on a team's own files is that every Pulumi.<stack>.yaml at the repository root is
previewed, deployed and drift-checked."""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cloudbridge.plan import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
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


STACKS_FROM_FILES = "${{ fromJSON(needs.stacks.outputs.stacks) }}"
LISTING = "$/.github/workflows/stacks.yml"  # GitHub's self-repository reference
UP = "$/.github/workflows/pulumi-up.yml"
PREVIEW_ENVIRONMENT = "preview-${{ matrix.stack }}"
# The only variables a job reads: each stack's live in that stack's GitHub environments
# (dev/preprod/prod and preview-<stack>), under the same names, so no job can name
# another stack's. PULUMI_STACK_PREFIX (Pulumi Cloud's org/project) may be repository-wide.
PREVIEW_VARIABLES = {"AWS_PREVIEW_ROLE_ARN", "AWS_REGION", "PULUMI_BACKEND_URL", "PULUMI_STACK_PREFIX"}
DEPLOY_VARIABLES = {"AWS_DEPLOY_ROLE_ARN", "AWS_REGION", "PULUMI_BACKEND_URL", "PULUMI_STACK_PREFIX"}
PER_STACK = {"AWS_PREVIEW_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN", "AWS_REGION", "PULUMI_BACKEND_URL"}


def root_stacks():
    """The stacks of the repository's own Pulumi.<stack>.yaml: the one place a test reads a
    team's stack names, since a stack file that is not previewed, deployed and drift-checked
    is a real mistake whatever the names are."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_ROOT.glob("Pulumi.*.yaml"))


def listing_script():
    [job] = load("stacks.yml")["jobs"].values()
    return next(s for s in steps(job) if s.get("id") == "list")["run"]


def listed_stacks(folder):
    """What stacks.yml lists for a checkout of ``folder`` (its script run as the runner runs it)."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "github_output"
        output.write_text("")
        result = subprocess.run(
            ["bash", "-e", "-c", listing_script()],
            cwd=folder, env={"GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode:
            raise ValueError(result.stdout + result.stderr)
        [line] = output.read_text().splitlines()
    key, value = line.split("=", 1)
    assert key == "stacks"
    return json.loads(value)


def deploy_chain(workflow):
    """The stacks deploy.yml deploys, in order: each job needs the one before, the first needs the tests."""
    jobs = {name: job for name, job in workflow["jobs"].items() if job.get("uses") == UP}
    chain, previous = [], "test"
    while jobs:
        [(name, job)] = [(n, j) for n, j in jobs.items() if j.get("needs") == previous]  # one line, no fork
        chain.append(job["with"]["stack"])
        previous = name
        del jobs[name]
    return chain


def wiring_problems(stack_names, workflows, listed):
    """Stacks that a workflow does not preview, deploy or drift-check (``listed``: what stacks.yml lists)."""
    problems = []
    for workflow, job_name in (("preview.yml", "preview"), ("drift.yml", "drift")):
        jobs = workflows[workflow]["jobs"]
        matrix = jobs[job_name]["strategy"]["matrix"]
        if jobs["stacks"].get("uses") != LISTING or matrix != {"stack": STACKS_FROM_FILES}:
            problems.append(f"{workflow}: the matrix is not the list of stack files")
    deployed = deploy_chain(workflows["deploy.yml"])
    for stack in stack_names:
        if stack not in listed:
            problems.append(f"{stack}: no preview job and no drift check")
        if stack not in deployed:
            problems.append(f"{stack}: never deployed")
    problems += [f"{stack}: deployed without a stack file" for stack in deployed if stack not in stack_names]
    return problems


def test_every_stack_file_is_previewed_deployed_and_drift_checked():
    assert root_stacks(), "no Pulumi.<stack>.yaml at the repository root"
    assert listed_stacks(PROJECT_ROOT) == root_stacks()
    assert wiring_problems(root_stacks(), all_workflows(), listed_stacks(PROJECT_ROOT)) == []


def test_a_new_stack_file_is_previewed_and_drift_checked_but_not_deployed_until_wired(tmp_path):
    for stack in root_stacks():
        shutil.copy(PROJECT_ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text("config: {}\n")
    listed = listed_stacks(tmp_path)
    assert listed == sorted([*root_stacks(), "staging"])
    assert wiring_problems(listed, all_workflows(), listed) == ["staging: never deployed"]


@pytest.mark.parametrize("name", ["Prod", "qa-1", "waytoolongname", "a b"])
def test_the_stack_list_refuses_a_file_not_named_like_a_stack(tmp_path, name):
    (tmp_path / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    with pytest.raises(ValueError, match="not named like a stack"):
        listed_stacks(tmp_path)


def test_the_stack_list_refuses_a_repository_without_stacks(tmp_path):
    with pytest.raises(ValueError, match=r"no Pulumi.<stack>.yaml"):
        listed_stacks(tmp_path)


def test_promotion_chain_is_explicit_and_covers_the_stacks():
    workflow = load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert sorted(deploy_chain(workflow)) == root_stacks()
    assert any("bash .ci/run" in s.get("run", "") for s in steps(workflow["jobs"]["test"]))


@pytest.mark.parametrize("stack", deploy_chain(load("deploy.yml")))
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
    assert up["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    callers = [(name, j) for name, w in all_workflows().items() for j in w["jobs"].values() if j.get("uses") == UP]
    assert {name for name, _ in callers} == {"deploy.yml"} and len(callers) == len(root_stacks())


def test_every_pulumi_step_installs_the_one_pinned_cli_version():
    version = (PROJECT_ROOT / ".pulumi.version").read_text().strip()
    assert re.fullmatch(r"3\.\d+\.\d+", version), "an exact version, not a range"
    sdk = re.search(r"^pulumi>=3\.(\d+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert int(version.split(".")[1]) >= int(sdk.group(1)), "the CLI is at least the SDK's minimum"
    found = 0
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in steps(job):
                if action(step) == "pulumi/actions":  # running a command, or installing the CLI only
                    found += 1
                    assert step["with"].get("pulumi-version-file") == ".pulumi.version", name
                    assert "pulumi-version" not in step["with"], name
    assert found >= 3


def test_preview_on_pull_requests_keeps_its_text_and_holds_no_pull_request_grant():
    """The job that runs the pull request's program (preview role) cannot write to the pull
    request: it keeps the preview's text as an artifact, and another job posts it."""
    workflow = load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    job = workflow["jobs"]["preview"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert not any(s.get("with", {}).get("comment-on-pr") for s in steps(job))
    [run] = [s for s in steps(job) if "pulumi preview" in s.get("run", "")]
    assert '| tee -a "$RUNNER_TEMP/preview.txt"' in run["run"] and "set -o pipefail" in run["run"]
    # The replication impact against the base branch heads the comment and fails the job when
    # DMS would refuse a change to a started replication (docs/replacement.md).
    [impact] = [s for s in steps(job) if "--against HEAD^1" in s.get("run", "")]
    assert "set -o pipefail" in impact["run"] and '| tee "$RUNNER_TEMP/impact.txt"' in impact["run"]
    assert steps(job).index(impact) < steps(job).index(run) and 'cat "$RUNNER_TEMP/impact.txt"' in run["run"]
    [checkout] = [s for s in steps(job) if action(s) == "actions/checkout"]
    assert checkout["with"]["fetch-depth"] == 2  # HEAD^1 of the merge commit is the base branch
    [upload] = [s for s in steps(job) if action(s) == "actions/upload-artifact"]
    assert upload["with"]["name"] == "preview-${{ matrix.stack }}"
    assert upload["with"]["path"] == "${{ runner.temp }}/preview.txt"


def test_the_comment_is_posted_by_a_job_that_runs_no_pull_request_code():
    """Only the artifacts reach it: no checkout, no environment, no OIDC, no variable or
    secret, no action but the artifact download; the text is never interpolated."""
    job = load("preview.yml")["jobs"]["comment"]
    assert job["needs"] == "preview" and job["permissions"] == {"pull-requests": "write"}
    assert "environment" not in job and "strategy" not in job
    assert [action(s) for s in steps(job) if "uses" in s] == ["actions/download-artifact"]
    assert variables_and_secrets(job) == (set(), set())
    scripts = "\n".join(s.get("run", "") for s in steps(job))
    assert not re.search(r"\b(make|python3?|pip|npm|npx|node|source|eval|exec)\b|\./|\.venv", scripts)
    [writer, poster] = [s for s in steps(job) if "run" in s]
    assert "env" not in writer, "the artifacts are read without a token in the environment"
    assert set(poster["env"]) == {"GH_TOKEN", "PR"}
    assert poster["env"]["PR"] == "${{ github.event.pull_request.number }}"


def _comment_writer():
    job = load("preview.yml")["jobs"]["comment"]
    return next(s for s in steps(job) if s.get("name", "").startswith("Write each comment"))["run"]


def test_the_comment_treats_the_preview_text_as_untrusted(tmp_path):
    """An artifact's text cannot leave its code fence, carry control characters, exceed a
    comment, name a stack that is no stack, or point elsewhere through a link."""
    previews = tmp_path / "previews"
    hostile = "+ aws:s3/bucket:Bucket cb-dev-x create\n````\n@someone ![x](https://evil) \x1b[31m\x00\n" + "y" * 70000
    for name, text in {"dev": hostile, "prod": "no changes\n", "Bad-Name": "x"}.items():
        (previews / f"preview-{name}").mkdir(parents=True)
        (previews / f"preview-{name}" / "preview.txt").write_text(text)
    (previews / "preview-qa").mkdir()
    (previews / "preview-qa" / "preview.txt").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text("GH_TOKEN=ghs_not_to_be_posted")
    result = subprocess.run(
        ["bash", "-e", "-c", _comment_writer()],
        env={"RUNNER_TEMP": str(tmp_path), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = {p.stem: p.read_text() for p in (tmp_path / "comments").glob("*.md")}
    assert set(written) == {"dev", "prod"}
    assert written["prod"].splitlines()[0] == "<!-- cloudbridge-preview:prod -->"
    dev = written["dev"].splitlines()
    fence = dev[3].removesuffix("text")
    assert fence == "`````" and dev.count(fence) == 1 and "````" in dev  # the text's fence stays inside
    assert "\x1b" not in written["dev"] and "\x00" not in written["dev"]
    assert len(written["dev"]) < 65536 and "Truncated" in written["dev"]


FAKE_GH = """#!/bin/bash
# gh as the poster calls it: the listing (the pull request's comments, first lines) or a write.
if [[ $1 == api && $2 == --paginate ]]; then
  printf '11\\t<!-- cloudbridge-preview:dev -->\\n12\\t<!-- cloudbridge-preview:prod -->\\n'
  exit
fi
shift  # api
echo "$2 $3 $(jq -c .)" >> "$CALLS"
"""


@pytest.mark.skipif(not shutil.which("jq"), reason="the poster uses jq, as on GitHub's runners")
def test_the_comment_of_each_stack_is_edited_or_posted_once(tmp_path):
    """An earlier comment of a stack (the bot's, by its first line) is edited, a new stack's posted."""
    comments = tmp_path / "comments"
    comments.mkdir()
    (comments / "dev.md").write_text("<!-- cloudbridge-preview:dev -->\nchanges\n")
    (comments / "qa.md").write_text("<!-- cloudbridge-preview:qa -->\nnew\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text(FAKE_GH)
    (tmp_path / "bin" / "gh").chmod(0o755)
    job = load("preview.yml")["jobs"]["comment"]
    poster = next(s for s in steps(job) if s.get("name", "").startswith("Post or update"))["run"]
    env = {"RUNNER_TEMP": str(tmp_path), "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PR": "7",
           "GITHUB_REPOSITORY": "acme/x", "CALLS": str(tmp_path / "calls"), "GH_TOKEN": "t"}  # fmt: skip
    result = subprocess.run(["bash", "-e", "-c", poster], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text().splitlines() == [
        'PATCH repos/acme/x/issues/comments/11 {"body":"<!-- cloudbridge-preview:dev -->\\nchanges\\n"}',
        'POST repos/acme/x/issues/7/comments {"body":"<!-- cloudbridge-preview:qa -->\\nnew\\n"}',
    ]


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
    assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}  # as deployments


def variables_and_secrets(job):
    text = json.dumps(job)
    return set(re.findall(r"vars\.(\w+)", text)), set(re.findall(r"secrets\.(\w+)", text))


@pytest.mark.parametrize(("workflow", "job"), [("preview.yml", "preview"), ("drift.yml", "drift")])
def test_untrusted_and_scheduled_paths_run_in_the_stacks_own_preview_environment(workflow, job):
    """Pull-request code and the drift check run with one stack's preview role only: its own
    unprotected environment preview-<stack> (never a deploy environment), that environment's
    variables, no deploy role, no passphrase."""
    definition = load(workflow)["jobs"][job]
    variables, secrets = variables_and_secrets(definition)
    assert definition["environment"] == PREVIEW_ENVIRONMENT
    assert variables <= PREVIEW_VARIABLES and "AWS_PREVIEW_ROLE_ARN" in variables, variables
    assert secrets <= {"PULUMI_PREVIEW_TOKEN"}, secrets
    assert "PASSPHRASE" not in (WORKFLOWS / workflow).read_text()
    assert not re.search(r"AWS_DEPLOY|cloudbridge-deploy", json.dumps(definition))
    assigned = next(s for s in steps(definition) if action(s) == "aws-actions/configure-aws-credentials")["with"]
    assert assigned["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    if workflow == "drift.yml":
        pulumi = next(s for s in steps(definition) if action(s) == "pulumi/actions")["with"]
        assert pulumi["stack-name"].endswith("${{ matrix.stack }}")
        assert pulumi["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    else:  # the CLI itself, so that its text can be kept
        [run] = [s for s in steps(definition) if "pulumi preview" in s.get("run", "")]
        assert run["env"]["STACK"].endswith("${{ matrix.stack }}") and '--stack "$STACK"' in run["run"]
        assert run["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_no_job_can_name_another_stacks_variables():
    """Every variable is read under its one generic name, in a job bound to one stack's
    environment; a per-stack variable (role, backend, region) is never repository-wide."""
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            variables, _ = variables_and_secrets(job)
            assert variables <= PREVIEW_VARIABLES | DEPLOY_VARIABLES, f"{name}:{job_name}: {variables}"
            if variables & PER_STACK:
                assert job.get("environment") in (PREVIEW_ENVIRONMENT, "${{ inputs.stack }}"), f"{name}:{job_name}"


def test_only_the_gated_deploy_jobs_hold_the_deploy_role():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            variables, _ = variables_and_secrets(job)
            if "AWS_DEPLOY_ROLE_ARN" in variables:  # only the reusable deployment, in the stack's environment
                assert name == "pulumi-up.yml" and job.get("environment") == "${{ inputs.stack }}", f"{name}:{job_name}"
                assert variables <= DEPLOY_VARIABLES
    text = "".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert "PULUMI_CONFIG_PASSPHRASE" not in text  # state and stack secrets use the KMS secrets provider


def _variable_check(workflow, job):
    [job] = [load(workflow)["jobs"][job]] if job else load(workflow)["jobs"].values()
    return next(s for s in steps(job) if s.get("name", "").startswith("The environment holds"))["run"]


@pytest.mark.parametrize(
    ("workflow", "job", "role"),
    [("preview.yml", "preview", "preview"), ("drift.yml", "drift", "preview"), ("pulumi-up.yml", None, "deploy")],
)
def test_a_job_refuses_variables_of_another_stack_or_none(workflow, job, role):
    """Before anything runs, the environment must hold this stack's own role: a value pasted
    into the wrong environment fails naming the environment to fix, not at AssumeRole."""
    script = _variable_check(workflow, job)

    def run(role_arn, region="us-east-1"):
        env = {"ROLE": role_arn, "REGION": region, "STACK": "qa", "PATH": "/usr/bin:/bin"}
        return subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True)

    assert run(f"arn:aws:iam::123456789012:role/cloudbridge-{role}-qa").returncode == 0
    for refused in (f"arn:aws:iam::123456789012:role/cloudbridge-{role}-prod", "", "x"):
        result = run(refused)
        assert result.returncode == 1 and "GitHub environment" in result.stdout, refused
    assert run(f"arn:aws:iam::123456789012:role/cloudbridge-{role}-qa", region="").returncode == 1


LOCK = PROJECT_ROOT / "requirements.lock"
LOCKED_INSTALL = "pip install --quiet --require-hashes --only-binary :all: -r requirements.lock"


def requirements(path):
    """The requirements of a requirements file (comments and blank lines aside; no -r here)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def lock_entries():
    """Canonical name -> (requirement, its --hash values), from requirements.lock."""
    text = LOCK.read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()  # '# via ...' and the header
        if not line:
            continue
        tokens = line.split()
        hashes = [t.removeprefix("--hash=") for t in tokens if t.startswith("--hash=")]
        requirement = Requirement(" ".join(t for t in tokens if not t.startswith("--hash=")))
        entries[canonicalize_name(requirement.name)] = (requirement, hashes)
    return entries


@pytest.mark.parametrize(
    ("workflow", "job"), [("pulumi-up.yml", "up"), ("preview.yml", "preview"), ("drift.yml", "drift")]
)
def test_the_program_runs_on_the_hash_locked_runtime_requirements_only(workflow, job):
    """Every job that runs the program installs requirements.lock with --require-hashes, wheels
    only, before it assumes an AWS role; never requirements(-dev).txt: a deploy runs exactly the
    reviewed files, and a preview or drift check runs the versions the deploy would."""
    definition = load(workflow)["jobs"][job]
    installs = [i for i, s in enumerate(steps(definition)) if "pip install" in s.get("run", "")]
    [install] = installs
    assert LOCKED_INSTALL in steps(definition)[install]["run"]
    assume = next(i for i, s in enumerate(steps(definition)) if action(s) == "aws-actions/configure-aws-credentials")
    assert install < assume, "installed before any AWS credentials"
    text = json.dumps(definition)
    assert "make setup" not in text and "requirements.txt" not in text and "requirements-dev.txt" not in text


def test_the_lock_pins_every_runtime_requirement_by_hash_within_its_specifier():
    """requirements.lock is requirements.txt resolved (`make lock`): each requirement pinned to
    one version its specifier admits, every locked package with sha256 hashes; the Lambdas'
    vendored packages (slack-sdk, aws-lambda-powertools, typing-extensions) at their exact pins."""
    locked = lock_entries()
    assert locked, "requirements.lock lists nothing"
    for name, (requirement, hashes) in locked.items():
        [pin] = requirement.specifier
        assert pin.operator == "==" and not requirement.extras and not requirement.url, name
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    for wanted in requirements(PROJECT_ROOT / "requirements.txt"):
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{wanted.name} is in requirements.txt but not locked: make lock"
        [pin] = locked[name][0].specifier
        assert wanted.specifier.contains(pin.version, prereleases=True), f"{wanted} but {pin} is locked: make lock"
    for vendored in ("slack-sdk", "aws-lambda-powertools", "typing-extensions"):
        assert vendored in locked


def test_the_pulumi_cli_is_not_older_than_the_locked_sdk():
    cli = Version((PROJECT_ROOT / ".pulumi.version").read_text().strip())
    [pin] = lock_entries()["pulumi"][0].specifier
    assert cli >= Version(pin.version), "the CLI pinned in .pulumi.version is older than the locked SDK"


def test_stack_files_hold_no_secret_values():
    for stack in root_stacks():
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
            reads_the_repository = "uses" in job or any(action(s) == "actions/checkout" for s in steps(job))
            assert granted.get("contents") == ("read" if reads_the_repository else None), f"{name}:{job_name}"
            assert set(granted) <= {"contents", "id-token", "pull-requests"}, f"{name}:{job_name}"
            assert all(v in ("read", "write") for v in granted.values())
            if "pull-requests" in granted:  # never next to the repository's code or an AWS role
                assert not reads_the_repository and "id-token" not in granted, f"{name}:{job_name}"


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
