"""No refactor silently replaces a production bucket, key, database or replication.

The URNs of every stack are checked in (tests/program/snapshots/<stack>.urns). Any change
fails until reviewed and accepted with ``CLOUDBRIDGE_UPDATE_SNAPSHOTS=1 make test``; a
stateful resource whose URN disappears without an alias fails even then.
"""

import dataclasses
import os

import pytest

from tests.support import urns


def test_resource_identities_match_the_reviewed_snapshot(plan, stack):
    snapshot = urns.read_snapshot(stack)
    diff = urns.compare(snapshot, plan)
    assert not diff.replaced_stateful, (
        f"{stack}: these stateful resources would be deleted and re-created (data loss); "
        "keep their names, or add pulumi.Alias(...) for the old URN to the new declaration:\n  "
        + "\n  ".join(diff.replaced_stateful)
    )
    if os.environ.get("CLOUDBRIDGE_UPDATE_SNAPSHOTS") and not diff.unchanged:
        urns.write_snapshot(stack, plan)
        return
    assert diff.unchanged, (
        f"{stack}: resource identities changed; review, then accept with CLOUDBRIDGE_UPDATE_SNAPSHOTS=1 make test\n"
        f"  added:   {diff.added}\n  removed: {diff.removed}"
    )


BUCKET = "aws:s3/bucket:Bucket"


def _renamed(plan, old_name, new_name, alias):
    """The plan as it would be after renaming one bucket (optionally with an alias)."""
    resources = []
    for r in plan.resources:
        if r.name == old_name and r.type == BUCKET:
            r = dataclasses.replace(
                r,
                identity=r.identity.replace(f"::{old_name}", f"::{new_name}"),
                name=new_name,
                aliases=(r.identity,) if alias else (),
            )
        resources.append(r)
    return dataclasses.replace(plan, resources=resources)


def test_a_renamed_bucket_without_alias_is_reported_as_data_loss(plans):
    plan = plans("prod")
    snapshot = {r.identity for r in plan.resources if not r.read}
    [bucket] = [r for r in plan.resources if r.name == "sales-raw" and r.type == BUCKET]
    diff = urns.compare(snapshot, _renamed(plan, "sales-raw", "sales-history", alias=False))
    assert diff.replaced_stateful == [bucket.identity]


def test_a_renamed_bucket_with_an_alias_is_only_a_reviewed_change(plans):
    plan = plans("prod")
    snapshot = {r.identity for r in plan.resources if not r.read}
    diff = urns.compare(snapshot, _renamed(plan, "sales-raw", "sales-history", alias=True))
    assert diff.replaced_stateful == [] and len(diff.added) == len(diff.removed) == 1


@pytest.mark.parametrize("with_alias", [True, False])
def test_renaming_a_component_in_the_program(plans, with_alias):
    """End to end through the program: renaming the raw-history SecureBucket replaces its
    bucket unless the component carries an Alias, which its children inherit."""
    import pulumi

    from cloudbridge.plan import Plan, evaluate
    from components import storage

    original = storage.SecureBucket.__init__

    def renamed(self, name, args, opts=None):
        if name == "sales-raw":
            if with_alias:
                alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(name="sales-raw")])
                opts = pulumi.ResourceOptions.merge(opts, alias)
            name = "sales-history"
        original(self, name, args, opts)

    storage.SecureBucket.__init__ = renamed
    try:
        after = evaluate("prod", plan=Plan("prod"))
    finally:
        storage.SecureBucket.__init__ = original
    before = plans("prod")
    diff = urns.compare({r.identity for r in before.resources if not r.read}, after)
    assert diff.removed and diff.added
    if with_alias:  # the component's alias carries its children along: nothing stateful is lost
        assert diff.replaced_stateful == []
    else:
        assert [urns.urn_type(u) for u in diff.replaced_stateful] == ["aws:s3/bucket:Bucket"]
