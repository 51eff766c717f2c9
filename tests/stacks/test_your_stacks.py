"""The stack-agnostic checks on this repository's own stack files (a team's, in a fork).

Nothing here expects a particular account, region, repository or source: each check is
one of tests/support/stack_checks.py, and they hold for any valid stack. The program's
behaviour itself is tested on tests/fixtures/stacks.
"""

import functools

import pytest

from cloudbridge.plan import BOOTSTRAP_ROOT, stacks
from components.workspace import REPO_ROOT, using
from tests.support import bootstrap_checks, stack_checks

with using(REPO_ROOT):
    STACKS = stacks()
    BOOTSTRAP_STACKS = stacks(BOOTSTRAP_ROOT)


@functools.cache
def plan_of(stack):
    return stack_checks.evaluate_in(REPO_ROOT, stack)


def test_the_repository_has_stacks():
    assert STACKS, "no Pulumi.<stack>.yaml at the repository root"


@pytest.mark.parametrize("stack", STACKS)
def test_config(stack):
    plan_of(stack)  # a ConfigError names the stack file and every offending key


@pytest.mark.parametrize("check", sorted(stack_checks.PLAN_CHECKS))
@pytest.mark.parametrize("stack", STACKS)
def test_stack(stack, check):
    plan = plan_of(stack)
    with using(REPO_ROOT):
        problems = stack_checks.PLAN_CHECKS[check](plan)
    assert problems == [], f"{check} on Pulumi.{stack}.yaml:\n" + "\n".join(problems)


@pytest.mark.parametrize("check", sorted(bootstrap_checks.CHECKS))
def test_bootstrap(check):
    assert BOOTSTRAP_STACKS, "no bootstrap/Pulumi.<stack>.yaml"
    problems = bootstrap_checks.CHECKS[check](REPO_ROOT)
    assert problems == [], f"bootstrap {check}:\n" + "\n".join(problems)
