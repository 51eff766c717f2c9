"""parliament over every permissions document the bootstrap declares (deploy grants and
guardrails, the preview role, the permissions boundary, the state bucket's policy and the
state key's policy), for every fixture stack; findings are fixed or accepted below with
the reason."""

import json

import pytest

from cloudbridge.plan import BOOTSTRAP_ROOT, evaluate, stacks
from tests.support.policies import POLICY_INPUTS, TRUST_POLICY

# Findings that are right for these documents, each with the reason.
ACCEPTED = {
    "RESOURCE_STAR": "a Deny on '*' (guardrails, boundary) only narrows; an Allow on '*' is an action IAM "
    "authorises on '*' only, narrowed by a condition where AWS has one (policies.UNSCOPED, deploy_policy.REGION_ONLY)",
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": "the boundary's Deny of iam:* is what stops escalation",
    "UNKNOWN_CONDITION_FOR_ACTION": "aws:RequestedRegion, aws:ResourceTag and iam:PermissionsBoundary narrow Deny "
    "statements over several actions; an action without the key does not match them",
    "MISMATCHED_TYPE": "ArnEquals/ArnLike on iam:PolicyARN and lambda:FunctionArn are what IAM documents",
    "DENY_STAR": "the boundary denies every action on the Pulumi state (NotThePulumiState)",
    "DENY_STAR_ACTION": "as above",
    "MISMATCHED_TYPE_BUT_USABLE": "iam:PermissionsBoundary takes StringEquals on the policy ARN (IAM user guide)",
}
# RESOURCE_MISMATCH: a statement lacks one of the ARN types an action names; each is granted
# by another statement on purpose (test_deploy_inventory proves the real call is allowed).
ACCEPTED_MISMATCH = {
    "kms:CreateAlias": "alias and key are two statements: any cb-<env>- alias, only the program's own keys",
    "kms:DeleteAlias": "as above",
    "kms:UpdateAlias": "as above",
    "glue:DeleteDatabase": "the program declares no user-defined functions",
    "athena:ListTagsForResource": "the program has workgroups only (no capacity reservations or data catalogs)",
    "athena:TagResource": "as above",
    "athena:UntagResource": "as above",
    "dms:ModifyEndpoint": "the endpoint (own, by tag) and the CA certificate it names are two statements",
    "ec2:CreateVpcEndpoint": "the endpoint (tagged on create) and the network it is placed in are two statements",
    "ec2:ModifyVpcEndpoint": "the endpoint (own, by tag) and the network it names are two statements",
}


def _accepted(finding) -> bool:
    if finding.issue in ACCEPTED:
        return True
    details = finding.detail if isinstance(finding.detail, list) else []
    return finding.issue == "RESOURCE_MISMATCH" and all(d.get("action") in ACCEPTED_MISMATCH for d in details)


@pytest.mark.parametrize("name", stacks(BOOTSTRAP_ROOT))
def test_parliament_finds_nothing_unexplained_in_the_bootstrap_policies(name):
    from parliament import analyze_policy_string

    plan = evaluate(name, program=BOOTSTRAP_ROOT)
    problems, documents = [], 0
    for resource in plan.resources:
        key = POLICY_INPUTS.get(resource.type)
        if not key or key not in resource.inputs or resource.type == TRUST_POLICY:
            continue
        documents += 1
        document = json.loads(resource.inputs[key])
        for finding in analyze_policy_string(json.dumps(document), ignore_private_auditors=True).findings:
            if not _accepted(finding):
                problems.append(f"{resource.name}: {finding.issue} {str(finding.detail)[:200]}")
    assert documents >= 5
    assert problems == [], "\n".join(problems)
