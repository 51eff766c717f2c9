"""A replication slot that does not advance fills the source database's disk: the disk is watched.

TransactionLogsDiskUsage for RDS and Aurora PostgreSQL sources that name their instance or cluster,
FreeStorageSpace for RDS instances (Aurora's storage is the cluster volume), through the alerts
topic like every other alarm. Each case edits a postgres source of a fixture stack in memory, so the
tests hold whatever the stack files say.
"""

import pytest

from cloudbridge.plan import evaluate, read_stack_config, stacks
from components.config import Source
from tests.program.test_config import fails
from tests.program.test_monitoring import alarms, topic_arn

MIB = 1024 * 1024
DISK_ALARMS = {"transaction-logs", "free-storage"}
# A stack of the fixtures with a postgres source (the one the cases edit) and its position.
STACK, INDEX = next(
    (stack, i)
    for stack in stacks()
    for i, source in enumerate(read_stack_config(stack)["cloudbridge:sources"])
    if source["engine"] == "postgres"
)
OTHER = next(i for i, s in enumerate(read_stack_config(STACK)["cloudbridge:sources"]) if s["engine"] != "postgres")
KEY = f"cloudbridge:sources[{INDEX}]"


def rds_host(name):
    return f"{name}.c1a2b3c4d5e6.eu-west-2.rds.amazonaws.com"


def aurora_host(cluster, kind="cluster"):
    return f"{cluster}.{kind}-c1a2b3c4d5e6.eu-west-2.rds.amazonaws.com"


def source_with(stack_config, host, **settings):
    """The stack's config with its postgres source on ``host``, watched only as ``settings`` say."""
    config = stack_config(STACK)
    source = config["cloudbridge:sources"][INDEX]
    for key in ("rdsInstanceIdentifier", "rdsClusterIdentifier", "transactionLogsAlarmMb", "freeStorageAlarmMb"):
        source.pop(key, None)
    source.update(host=host, **settings)
    return config, source["name"]


def declared(stack_config, host, **settings):
    config, name = source_with(stack_config, host, **settings)
    plan = evaluate(STACK, config)
    return plan, alarms(plan, name)


def test_an_rds_instance_gets_both_alarms_in_bytes_on_the_alerts_topic(stack_config):
    plan, found = declared(
        stack_config,
        rds_host("orders-db"),
        rdsInstanceIdentifier="orders-db",
        transactionLogsAlarmMb=2048,
        freeStorageAlarmMb=4096,
    )
    logs, free = found["transaction-logs"], found["free-storage"]
    for alarm in (logs, free):
        assert alarm["namespace"] == "AWS/RDS"
        assert alarm["dimensions"] == {"DBInstanceIdentifier": "orders-db"}
        assert alarm["alarmActions"] == [topic_arn(plan)] and alarm["okActions"] == [topic_arn(plan)]
        assert alarm["alarmDescription"].startswith("[cloudbridge:source=")
        # A deleted instance or a wrong identifier publishes nothing: that must alarm.
        assert alarm["treatMissingData"] == "breaching"
        assert alarm["period"] % 60 == 0 and alarm["evaluationPeriods"] >= 1
    assert logs["metricName"] == "TransactionLogsDiskUsage"
    assert (logs["comparisonOperator"], logs["statistic"]) == ("GreaterThanThreshold", "Maximum")
    assert logs["threshold"] == 2048 * MIB
    assert free["metricName"] == "FreeStorageSpace"
    assert (free["comparisonOperator"], free["statistic"]) == ("LessThanThreshold", "Minimum")
    assert free["threshold"] == 4096 * MIB
    assert "slot-lag" in found


def test_thresholds_default_to_ten_gib(stack_config):
    _, found = declared(stack_config, rds_host("orders-db"), rdsInstanceIdentifier="orders-db")
    assert found["transaction-logs"]["threshold"] == 10240 * MIB
    assert found["free-storage"]["threshold"] == 10240 * MIB


def test_aurora_watches_the_clusters_writer_and_no_free_storage(stack_config):
    _, found = declared(stack_config, aurora_host("orders"), rdsClusterIdentifier="orders", transactionLogsAlarmMb=512)
    logs = found["transaction-logs"]
    # Instance-level metric, published by the writer ("Primary for Aurora PostgreSQL"); the WRITER
    # role follows a failover, one instance's identifier does not.
    assert logs["dimensions"] == {"DBClusterIdentifier": "orders", "Role": "WRITER"}
    assert logs["metricName"] == "TransactionLogsDiskUsage" and logs["threshold"] == 512 * MIB
    assert logs["treatMissingData"] == "breaching"
    assert "free-storage" not in found and "slot-lag" not in found


def test_aurora_with_an_instance_only_watches_that_instance(stack_config):
    _, found = declared(stack_config, aurora_host("orders"), rdsInstanceIdentifier="orders-instance-1")
    assert found["transaction-logs"]["dimensions"] == {"DBInstanceIdentifier": "orders-instance-1"}
    assert "free-storage" not in found
    assert found["slot-lag"]["dimensions"] == {"DBInstanceIdentifier": "orders-instance-1"}


def test_aurora_with_both_watches_the_cluster(stack_config):
    _, found = declared(
        stack_config, aurora_host("orders"), rdsInstanceIdentifier="orders-instance-1", rdsClusterIdentifier="orders"
    )
    assert found["transaction-logs"]["dimensions"] == {"DBClusterIdentifier": "orders", "Role": "WRITER"}
    assert "free-storage" not in found


@pytest.mark.parametrize("host", [rds_host("orders-db"), aurora_host("orders"), "db.internal.example.com"])
def test_no_identifier_no_disk_alarm(stack_config, host):
    _, found = declared(stack_config, host)
    assert not DISK_ALARMS & set(found) and "slot-lag" not in found


def test_other_engines_get_none(plans):
    plan = plans(STACK)
    other = read_stack_config(STACK)["cloudbridge:sources"][OTHER]["name"]
    assert not DISK_ALARMS & set(alarms(plan, other))


@pytest.mark.parametrize(
    ("kind", "aurora"),
    [("cluster", True), ("cluster-ro", True), ("cluster-custom", True), ("", False)],
)
def test_aurora_is_recognised_by_its_endpoint(stack_config, kind, aurora):
    raw = stack_config(STACK)["cloudbridge:sources"][INDEX]
    host = aurora_host("orders", kind) if kind else rds_host("orders")
    assert Source.model_validate({**raw, "host": host}).is_aurora is aurora


def _error(stack_config, host, **settings):
    config, _ = source_with(stack_config, host, **settings)
    return fails(STACK, config).problems


def test_free_storage_is_refused_on_aurora_saying_why(stack_config):
    problems = _error(stack_config, aurora_host("orders"), rdsInstanceIdentifier="orders-1", freeStorageAlarmMb=2048)
    [message] = [m for k, m in problems if k == KEY]
    assert "Aurora" in message and "cluster volume" in message and "FreeStorageSpace" in message


@pytest.mark.parametrize(
    ("host", "settings", "words"),
    [
        (rds_host("orders-db"), {"rdsClusterIdentifier": "orders"}, "Aurora PostgreSQL clusters"),
        (aurora_host("orders"), {"rdsClusterIdentifier": "billing"}, "not the cluster the host names"),
        (rds_host("orders-db"), {"transactionLogsAlarmMb": 2048}, "needs rdsInstanceIdentifier or rdsCluster"),
        (rds_host("orders-db"), {"freeStorageAlarmMb": 2048}, "needs rdsInstanceIdentifier"),
        (aurora_host("orders"), {"rdsClusterIdentifier": "orders", "freeStorageAlarmMb": 2048}, "RDS instances only"),
    ],
)
def test_settings_that_watch_nothing_are_refused(stack_config, host, settings, words):
    problems = _error(stack_config, host, **settings)
    assert any(k == KEY and words in m for k, m in problems), problems


@pytest.mark.parametrize(("field", "low"), [("transactionLogsAlarmMb", 99), ("freeStorageAlarmMb", 1023)])
def test_thresholds_have_a_floor(stack_config, field, low):
    problems = _error(stack_config, rds_host("orders-db"), rdsInstanceIdentifier="orders-db", **{field: low})
    assert any(k == f"{KEY}.{field}" for k, _ in problems), problems


def test_the_cluster_identifier_is_postgres_only(stack_config):
    config = stack_config(STACK)
    config["cloudbridge:sources"][OTHER]["rdsClusterIdentifier"] = "billing"
    problems = fails(STACK, config).problems
    assert any(k == f"cloudbridge:sources[{OTHER}]" and "postgres" in m for k, m in problems), problems
