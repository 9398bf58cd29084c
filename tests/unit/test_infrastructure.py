"""template.yaml agrees with the pynamodb models and with the stage configuration, and passes cfn-lint."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import load

from chalicelib.adapters.dynamodb.models import ALL_MODELS, table_names
from chalicelib.config import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load(str(ROOT / "template.yaml"))
TABLES = {
    name: res["Properties"] for name, res in TEMPLATE["Resources"].items() if res.get("Type") == "AWS::DynamoDB::Table"
}
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def table_for(stage_name: str) -> dict[str, dict]:
    """Template tables by their resolved name for a stage (`!Sub clinic-${Stage}-x`)."""
    out = {}
    for props in TABLES.values():
        name = props["TableName"]["Fn::Sub"] if isinstance(props["TableName"], dict) else props["TableName"]
        out[name.replace("${Stage}", stage_name)] = props
    return out


def _keys(schema: list[dict]) -> set[tuple[str, str]]:
    return {(k["AttributeName"], k["KeyType"]) for k in schema}


def _attrs(defs: list[dict]) -> set[tuple[str, str]]:
    return {(a["AttributeName"], a["AttributeType"]) for a in defs}


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_template_tables_match_the_models(model):
    settings = Settings.from_env({"TABLE_PREFIX": "clinic-dev"})
    props = table_for("dev")[table_names(settings)[model]]
    schema = model._get_schema()
    assert _keys(props["KeySchema"]) == _keys(schema["key_schema"])
    assert _attrs(props["AttributeDefinitions"]) == _attrs(schema["attribute_definitions"])
    template_indexes = {
        gsi["IndexName"]: (_keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in props.get("GlobalSecondaryIndexes", [])
    }
    model_indexes = {
        gsi["index_name"]: (_keys(gsi["key_schema"]), gsi["projection"]["ProjectionType"])
        for gsi in schema["global_secondary_indexes"]
    }
    assert template_indexes == model_indexes
    stream = getattr(model.Meta, "stream_view_type", None)
    assert props.get("StreamSpecification", {}).get("StreamViewType") == stream


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_stage_names_tables_the_template_creates(stage):
    env = {**CONFIG["environment_variables"], **CONFIG["stages"][stage]["environment_variables"]}
    created = set(table_for(stage))
    configured = {v for k, v in env.items() if k.endswith("_TABLE")}
    assert configured == created


def test_every_table_setting_the_code_reads_is_configured():
    # GIVEN the table names Settings reads from the environment
    code = (ROOT / "chalicelib" / "config.py").read_text()
    read = set(re.findall(r'env.get\("([A-Z_]+_TABLE)"', code))
    # (the pattern finds one per table Settings has: were it to match nothing, the check below would pass on nothing)
    assert read == {f.name.upper() for f in fields(Settings) if f.name.endswith("_table")}
    # THEN every stage sets each of them
    for stage in ("dev", "prod"):
        assert read <= set(CONFIG["stages"][stage]["environment_variables"])


STACK_ONLY_SECRETS = {
    "OriginVerifySecret": "CloudFormation reads it for the distribution and the web ACL at deploy; the app never does",
}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_stage_names_the_secrets_the_template_creates(stage):
    env = CONFIG["stages"][stage]["environment_variables"]
    secrets = {
        res["Properties"]["Name"]["Fn::Sub"].replace("${Stage}", stage)
        for name, res in TEMPLATE["Resources"].items()
        if res.get("Type") == "AWS::SecretsManager::Secret" and name not in STACK_ONLY_SECRETS
    }
    assert {v for k, v in env.items() if k.endswith("_SECRET")} == secrets


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"### {title}\n")
    rest = text[start + len(title) + 5 :]
    return rest[: min(i for i in (rest.find("\n#"), len(rest)) if i >= 0)]


def waiver_rows() -> list[list[str]]:
    rows = [line.split("|")[1:-1] for line in readme_section("Scanner waivers").splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_every_checkov_waiver_in_the_template_gives_its_reason_and_is_listed_in_the_readme():
    # GIVEN the checkov skips written on template.yaml's resources
    skips = [
        (name, skip)
        for name, resource in TEMPLATE["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "template.yaml has no checkov waivers: drop this test's README rows too"
    rows = [row for row in waiver_rows() if row[0] == "checkov"]
    for name, skip in skips:
        # THEN each says why, and the README's table has a row for that check naming that resource
        assert len(str(skip.get("comment", ""))) >= 40, (name, skip)
        assert any(row[1].startswith(skip["id"] + " ") and name in row[2].split(", ") for row in rows), (name, skip)
    # AND the table lists no waiver the template does not have
    listed = {(check.split()[0], name) for _, check, where, _ in rows for name in where.split(", ")}
    assert listed == {(skip["id"], name) for name, skip in skips}


def test_every_bandit_waiver_in_the_code_names_its_check_and_is_listed_in_the_readme():
    # GIVEN every `# nosec` in the scanned code
    found = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        for line in path.read_text().splitlines():
            if "# nosec" in line:
                checks = re.findall(r"# nosec ((?:B\d{3}[, ]*)+)", line)
                # THEN each names the checks it waives (a bare nosec would hide every finding on the line)
                assert checks, (path, line)
                found |= {(check, str(path.relative_to(ROOT))) for check in re.findall(r"B\d{3}", checks[0])}
    assert found, "the code waives no bandit check: drop this test's README rows too"
    rows = {(row[1].split()[0], row[2]) for row in waiver_rows() if row[0] == "bandit"}
    # AND the README lists exactly those, each with a reason
    assert rows == found
    assert all(row[3] for row in waiver_rows())


def test_webhooks_run_from_both_streams_through_an_encrypted_queue_with_a_dlq_and_are_alarmed():
    resources = TEMPLATE["Resources"]
    # GIVEN the fan-out: it reads the appointments, reminders and waitlist streams, isolating poison records
    fanout = resources["WebhookFanout"]["Properties"]
    streams = {str(e["Properties"]["Stream"]) for e in fanout["Events"].values()}
    tables = ("AppointmentsTable", "RemindersTable", "WaitlistTable")
    assert streams == {str({"Fn::GetAtt": [t, "StreamArn"]}) for t in tables}
    assert TABLES["WaitlistTable"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    for source in fanout["Events"].values():
        assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert source["Properties"]["BisectBatchOnFunctionError"] is True
    assert TABLES["RemindersTable"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    # AND the queue between it and the sender: encrypted with our key, with a dead-letter queue
    queue = resources["WebhookQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Ref": "ClinicDataKey"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    assert resources["WebhookDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == {"Ref": "ClinicDataKey"}
    # AND the sender: fed by that queue, with reserved concurrency, its visibility timeout above its run time
    sender = resources["WebhookSender"]["Properties"]
    [source] = sender["Events"].values()
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert 1 <= sender["ReservedConcurrentExecutions"] <= 20
    timeout = CONFIG["stages"]["prod"]["lambda_functions"]["webhook_sender"]["lambda_timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    # AND the deliveries' log expires by TTL
    assert TABLES["WebhookDeliveriesTable"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    # AND alarms watch the age of the oldest queued delivery and the subscriptions paused
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    watched = {(a["MetricName"], str(a["Dimensions"][0]["Value"])) for a in alarms}
    assert ("ApproximateAgeOfOldestMessage", str({"Fn::GetAtt": ["WebhookQueue", "QueueName"]})) in watched
    assert (
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["WebhookDeadLetterQueue", "QueueName"]}),
    ) in watched
    assert ("WebhookSubscriptionPaused", "clinic-booking") in watched
    # AND deployed stacks refuse loopback receivers
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["WEBHOOK_ALLOW_LOOPBACK"] == "false" and env["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}
