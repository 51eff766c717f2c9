"""The optional Redshift Serverless warehouse: on where a stack turns it on, secure by
default, Spectrum scoped to the sources' own data, and SQL generated from the metadata."""

import json
import re

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from cloudbridge.plan import read_stack_config, stacks
from cloudbridge.plan_cli import describe
from components import views
from components.config import ConfigError
from components.metadata_files import load_tables
from components.stack_config import parse_stack_config
from tests.program.test_config import raw
from tests.support.iam_eval import decide

NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
INVOCATION = "aws:lambda/invocation:Invocation"


def enabled(stack):
    return read_stack_config(stack).get("cloudbridge:analytics", {}).get("redshift", {}).get("enabled", False)


ON = [s for s in stacks() if enabled(s)]


def test_some_stack_has_the_warehouse_and_some_does_not():
    assert ON and set(stacks()) - set(ON), "the example stacks show both (plan output for each)"


def test_the_warehouse_exists_exactly_where_the_config_turns_it_on(plan, stack):
    types = {r.type for r in plan.resources}
    assert (NAMESPACE in types) == enabled(stack)
    assert (WORKGROUP in types) == enabled(stack)
    assert (INVOCATION in types) == enabled(stack)
    text = "\n".join(describe(plan))
    if enabled(stack):
        assert f"Redshift warehouse cb-{stack}-warehouse: serverless" in text
    else:
        assert "Redshift warehouse: off" in text


@pytest.fixture(params=ON)
def warehouse(request, plans):
    return request.param, plans(request.param)


def test_namespace_is_encrypted_and_its_password_never_in_config_or_state(warehouse):
    stack, plan = warehouse
    [namespace] = plan.of_type(NAMESPACE)
    key = plan.named("key", "aws:kms/key:Key").inputs["arn"]
    given = namespace.given
    assert given["kmsKeyId"] == key and given["adminPasswordSecretKmsKeyId"] == key
    assert given["manageAdminPassword"] is True
    assert not {"adminUserPassword", "adminUserPasswordWo"} & set(given)
    role = plan.named("warehouse-spectrum-role", "aws:iam/role:Role").inputs["arn"]
    assert given["iamRoles"] == [role] and given["defaultIamRoleArn"] == role
    assert set(given["logExports"]) == {"connectionlog", "useractivitylog", "userlog"}
    assert namespace.retain_on_delete == (stack != "dev")


def test_workgroup_is_private_in_the_configured_subnets_and_requires_tls(warehouse):
    stack, plan = warehouse
    config = read_stack_config(stack)
    redshift = config["cloudbridge:analytics"]["redshift"]
    [workgroup] = plan.of_type(WORKGROUP)
    given = workgroup.given
    assert given["publiclyAccessible"] is False
    assert given["subnetIds"] == config["cloudbridge:network"]["subnetIds"]
    assert given["baseCapacity"] == redshift["baseCapacity"]
    assert given.get("maxCapacity") == redshift.get("maxCapacity")
    parameters = {p["parameterKey"]: p["parameterValue"] for p in given["configParameters"]}
    assert parameters["require_ssl"] == "true"
    group = plan.named("warehouse-sg", "aws:ec2/securityGroup:SecurityGroup")
    assert given["securityGroupIds"] == [f"{group.name}-id"]  # the mock gives each resource "<name>-id"
    assert group.given.get("egress") in ([], None) and not group.given.get("ingress")
    rules = [
        r.given
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("warehouse-client-")
    ]
    assert sorted(r["cidrIpv4"] for r in rules) == sorted(redshift.get("clientCidrs", []))
    assert all(r["fromPort"] == r["toPort"] == 5439 and r["ipProtocol"] == "tcp" for r in rules)


def test_spectrum_reads_only_the_sources_raw_history_and_glue_databases(warehouse):
    stack, plan = warehouse
    role = plan.named("warehouse-spectrum-role", "aws:iam/role:Role")
    trust = json.loads(role.given["assumeRolePolicy"])["Statement"][0]
    assert set(trust["Principal"]["Service"]) == {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == plan.named("key").inputs["arn"].split(":")[4]
    policy = json.loads(plan.named("warehouse-spectrum-role-policy").given["policy"])
    me = {"AWS": role.inputs["arn"]}
    region, account = "eu-west-2", plan.named("key").inputs["arn"].split(":")[4]
    via_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    for p in plan.outputs["pipelines"].values():
        raw_bucket, database = p["rawHistoryBucket"], p["glueDatabase"]
        glue = f"arn:aws:glue:{region}:{account}"
        assert (
            decide(policy, me, "s3:GetObject", f"arn:aws:s3:::{raw_bucket}/public/orders/2024/01/01/x.parquet")
            == "allow"
        )
        assert decide(policy, me, "s3:ListBucket", f"arn:aws:s3:::{raw_bucket}") == "allow"
        assert decide(policy, me, "glue:GetTable", f"{glue}:table/{database}/public__orders") == "allow"
        assert decide(policy, me, "glue:GetPartitions", f"{glue}:table/{database}/public__orders") == "allow"
        for bucket in (p["landingBucket"], p["failBucket"], p["metadataBucket"]):
            assert decide(policy, me, "s3:GetObject", f"arn:aws:s3:::{bucket}/x") == "implicit", bucket
        assert decide(policy, me, "s3:PutObject", f"arn:aws:s3:::{raw_bucket}/x") == "implicit"
        assert decide(policy, me, "glue:CreateTable", f"{glue}:table/{database}/x") == "implicit"
        assert decide(policy, me, "glue:GetTable", f"{glue}:table/cb_{stack}_other/x") == "implicit"
    key = plan.named("key").inputs["arn"]
    assert decide(policy, me, "kms:Decrypt", key, via_s3) == "allow"
    assert (
        decide(policy, me, "kms:Decrypt", key, {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"})
        == "implicit"
    )


def _payloads(plan):
    return {json.loads(r.given["input"])["source"]: (r, json.loads(r.given["input"])) for r in plan.of_type(INVOCATION)}


def test_each_source_gets_its_external_schema_and_a_late_binding_view_per_table(warehouse):
    stack, plan = warehouse
    config = parse_stack_config(stack, raw(read_stack_config(stack)))
    tables = load_tables(config)
    payloads = _payloads(plan)
    assert set(payloads) == {s.name for s in config.sources}
    [workgroup] = plan.of_type(WORKGROUP)
    [namespace] = plan.of_type(NAMESPACE)
    for source in config.sources:
        invocation, payload = payloads[source.name]
        assert payload["workgroup"] == workgroup.given["workgroupName"]
        assert payload["secretArn"] == namespace.inputs["adminPasswordSecretArn"]
        # re-run when the SQL changes, and when a replaced namespace or workgroup needs it again
        assert set(invocation.given["triggers"]) == {"sql", "namespace", "workgroup"}
        external, schema, *view_sql = payload["statements"]
        assert external == (
            f'CREATE EXTERNAL SCHEMA IF NOT EXISTS "{source.name}_changes" FROM DATA CATALOG DATABASE '
            f"'cb_{stack}_{source.name}' IAM_ROLE default REGION 'eu-west-2'"
        )
        assert schema == f'CREATE SCHEMA IF NOT EXISTS "{source.name}"'
        assert len(view_sql) == len(tables[source.name])
        by_view = {sql.split(" AS ", 1)[0].removeprefix("CREATE OR REPLACE VIEW "): sql for sql in view_sql}
        for meta in tables[source.name]:
            changes = f"{meta.schema}__{meta.table}".lower()
            sql = by_view[f'"{source.name}"."{changes}_current"']
            assert f'FROM "{source.name}_changes"."{changes}"' in sql
            assert sql.endswith(" WITH NO SCHEMA BINDING"), "Redshift needs late binding over external tables"
            tree = sqlglot.parse_one(sql, read="redshift", error_level=ErrorLevel.RAISE)
            assert tree.args["kind"] == "VIEW" and tree.args["replace"] is True


def test_the_redshift_view_has_the_tables_columns_from_the_external_schema():
    meta = load_tables(parse_stack_config("preprod", raw(read_stack_config("preprod"))))["sales"][0]
    sql = views.redshift_view_sql(meta, "sales", "public__orders")
    tree = sqlglot.parse_one(sql, read="redshift", error_level=ErrorLevel.RAISE)
    select = tree.expression
    assert [c.alias_or_name for c in select.expressions] == [c.name for c in meta.columns]
    ctes = {c.alias for c in tree.find_all(sqlglot.exp.CTE)}
    sources = {f"{t.db}.{t.name}" for t in tree.find_all(sqlglot.exp.Table) if t.name not in ctes}
    assert sources == {"sales.public__orders_current", "sales_changes.public__orders"}
    assert re.search(r"ORDER BY COALESCE\(\"dms_change_seq\", ''\) DESC", sql)


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        ({"enabled": True, "baseCapacity": 12}, "cloudbridge:analytics.redshift.baseCapacity", "RPUs"),
        ({"enabled": True, "baseCapacity": 16, "maxCapacity": 8}, "cloudbridge:analytics.redshift", "below"),
        ({"enabled": True}, "cloudbridge:network.subnetIds", "three availability zones"),
        (
            {"enabled": True, "baseCapacity": 544},
            "cloudbridge:analytics.redshift.baseCapacity",
            "not offered in eu-west-2",
        ),
        ({"enabled": True, "clientCidrs": ["0.0.0.0"]}, "cloudbridge:analytics.redshift.clientCidrs[0]", "pattern"),
    ],
)
def test_bad_warehouse_config_is_named(edit, key, words):
    config = raw(read_stack_config("dev"))  # two subnets
    config["analytics"] = {"redshift": edit}
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", config)
    matching = [m for k, m in info.value.problems if k == key]
    assert matching and any(words in m for m in matching), info.value.problems


def test_a_column_added_to_the_metadata_reaches_the_glue_table_and_both_views(monkeypatch):
    """Schema evolution: replay publishes new metadata, the next deploy regenerates the change
    table, the Athena view and the Redshift view from it (and re-runs the Redshift SQL)."""
    from dataclasses import replace

    from cloudbridge.plan import evaluate
    from components import metadata_files
    from functions.common.metadata import Column

    original = metadata_files.load_tables

    def with_discount(config):
        tables = original(config)
        tables["sales"] = [
            replace(m, columns=(*m.columns, Column("discount", "decimal(5,2)"))) if m.table == "orders" else m
            for m in tables["sales"]
        ]
        return tables

    before = evaluate("preprod")
    monkeypatch.setattr(metadata_files, "load_tables", with_discount)
    after = evaluate("preprod")
    table = after.named("sales-catalog-public-orders", "aws:glue/catalogTable:CatalogTable").given
    assert "discount" in [c["name"] for c in table["storageDescriptor"]["columns"]]
    view = next(
        r.given
        for r in after.of_type("aws:glue/catalogTable:CatalogTable")
        if r.given["name"] == "public__orders_current"
    )
    assert [c["name"] for c in views.decode_view(view["viewOriginalText"])["columns"]][-1] == "discount"
    old_sql, new_sql = (json.loads(p.of_type(INVOCATION)[0].given["input"])["statements"] for p in (before, after))
    [changed] = [sql for sql in new_sql if sql not in old_sql]
    triggers = [p.of_type(INVOCATION)[0].given["triggers"]["sql"] for p in (before, after)]
    assert triggers[0] != triggers[1], "changed SQL re-invokes the function"
    assert changed.startswith('CREATE OR REPLACE VIEW "sales"."public__orders_current"') and '"discount"' in changed
