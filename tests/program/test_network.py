"""DMS in private subnets reaches S3 and Secrets Manager through VPC endpoints."""

import copy
import json

import pytest

from cloudbridge.plan import evaluate, read_stack_config
from tests.program.test_config import fails

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SG = "aws:ec2/securityGroup:SecurityGroup"
REPLICATIONS = ("aws:dms/replicationConfig:ReplicationConfig", "aws:dms/replicationTask:ReplicationTask")


def test_every_stack_with_a_replication_has_its_endpoints(plan, stack):
    network = read_stack_config(stack)["cloudbridge:network"]
    endpoints = {r.name: r for r in plan.of_type(ENDPOINT)}
    assert set(endpoints) == {"vpc-endpoints-s3", "vpc-endpoints-secretsmanager"}
    s3, sm = endpoints["vpc-endpoints-s3"], endpoints["vpc-endpoints-secretsmanager"]
    existing = network.get("existingEndpoints")
    if existing:
        assert s3.read and s3.given["id"] == existing["s3"]
        assert sm.read and sm.given["id"] == existing["secretsManager"]
    else:
        assert s3.given["serviceName"] == "com.amazonaws.eu-west-2.s3" and s3.given["vpcEndpointType"] == "Gateway"
        assert s3.given["routeTableIds"] == network["routeTableIds"]
        assert sm.given["serviceName"] == "com.amazonaws.eu-west-2.secretsmanager"
        assert sm.given["vpcEndpointType"] == "Interface" and sm.given["privateDnsEnabled"] is True
        assert sm.given["subnetIds"] == network["subnetIds"]
    # Every replication waits for its routes: it starts as soon as it is created.
    endpoint_urns = {s3.urn, sm.urn}
    for replication in [r for t in REPLICATIONS for r in plan.of_type(t)]:
        assert endpoint_urns <= set(replication.dependencies), replication.name


def test_dms_https_goes_only_to_the_endpoints(plan, stack):
    endpoints = {r.name: r for r in plan.of_type(ENDPOINT)}
    prefix_list = endpoints["vpc-endpoints-s3"].inputs["prefixListId"]
    endpoint_groups = endpoints["vpc-endpoints-secretsmanager"].inputs["securityGroupIds"]
    for group in [g for g in plan.of_type(SG) if g.name.endswith("-replication-sg")]:
        https = [rule for rule in group.given["egress"] if rule["fromPort"] == 443]
        assert all("0.0.0.0/0" not in rule.get("cidrBlocks", []) for rule in https), group.name
        assert {tuple(r.get("prefixListIds", [])) for r in https} >= {(prefix_list,)}
        assert any(r.get("securityGroups") == endpoint_groups for r in https)


def test_created_interface_endpoint_admits_each_replication(plans):
    plan = plans("dev")
    endpoint_sg = plan.named("vpc-endpoints-secretsmanager-sg", SG)
    rules = [
        r
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if not r.name.endswith("-database-ingress")  # a provisioned database's own group (test_database.py)
    ]
    replication_groups = {g.inputs["id"] if "id" in g.inputs else g.name for g in plan.of_type(SG)}
    from cloudbridge.plan import read_stack_config

    assert len(rules) == len(read_stack_config("dev")["cloudbridge:sources"]) and replication_groups
    for rule in rules:
        assert rule.given["securityGroupId"] == f"{endpoint_sg.name}-id"
        assert rule.given["referencedSecurityGroupId"].endswith("-replication-sg-id")
        assert (rule.given["fromPort"], rule.given["toPort"], rule.given["ipProtocol"]) == (443, 443, "tcp")


def test_network_needs_route_tables_or_existing_endpoints(stack_config):
    config = stack_config("dev")
    del config["cloudbridge:network"]["routeTableIds"]
    error = fails("dev", config)
    assert [k for k, _ in error.problems] == ["cloudbridge:network"]
    assert "routeTableIds" in str(error) and "existingEndpoints" in str(error)


def test_credentials_key_grants_decrypt_through_secrets_manager_only(stack_config):
    config = stack_config("dev")
    key = "arn:aws:kms:eu-west-2:111111111111:key/0a1b2c3d-1111-2222-3333-444455556666"
    config["cloudbridge:sources"][0]["credentialsKmsKeyArn"] = key
    plan = evaluate("dev", config)
    policy = json.loads(plan.named("sales-replication-secrets-role-policy").given["policy"])
    [decrypt] = [s for s in policy["Statement"] if s["Sid"] == "DecryptSourceCredentials"]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-2.amazonaws.com"}}
    other = json.loads(plan.named("billing-replication-secrets-role-policy").given["policy"])
    assert all(not a.startswith("kms:") for s in other["Statement"] for a in s["Action"])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("not-a-key", "not a KMS key ARN"),
        ("arn:aws:kms:us-east-1:111111111111:key/0a1b2c3d-1111-2222-3333-444455556666", "us-east-1"),
    ],
)
def test_credentials_key_is_validated(stack_config, value, words):
    config = copy.deepcopy(stack_config("dev"))
    config["cloudbridge:sources"][0]["credentialsKmsKeyArn"] = value
    error = fails("dev", config)
    assert error.problems[0][0] == "cloudbridge:sources[0].credentialsKmsKeyArn"
    assert words in error.problems[0][1]
