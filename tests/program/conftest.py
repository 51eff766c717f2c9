"""Fixtures that evaluate the Pulumi program under mocks, once per stack per session."""

import copy

import pytest

from cloudbridge.plan import evaluate, read_stack_config, stacks

STACKS = stacks()


@pytest.fixture(scope="session")
def plans():
    cache = {}

    def get(stack):
        if stack not in cache:
            cache[stack] = evaluate(stack)
        return cache[stack]

    return get


@pytest.fixture(params=STACKS)
def stack(request):
    return request.param


@pytest.fixture
def plan(plans, stack):
    return plans(stack)


@pytest.fixture
def stack_config():
    """A fresh, mutable copy of a stack file's config."""
    return lambda stack: copy.deepcopy(read_stack_config(stack))
