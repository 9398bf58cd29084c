"""The deployable stack (`chalice package --merge-template template.yaml`): cfn-lint clean, SAM-translatable,
every function with its own least-privilege role and the environment its code reads, data encrypted with
our key, and the alarms in place."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = (
    "APIHandler",
    "ReminderDispatcher",
    "ReminderSweep",
    "SlotPublisher",
    "WebsocketConnect",
    "WebsocketMessage",
    "WebsocketDisconnect",
)
ALARMED = ("APIHandler", "ReminderDispatcher", "ReminderSweep", "SlotPublisher")
LOCAL_ONLY = {
    "DYNAMODB_ENDPOINT": "DynamoDB Local only",
    "OUTBOX_DIR": "outbox delivery is for local runs",
    "TABLE_PREFIX": "a fallback; deployed stages name every table",
    "AWS_REGION": "set by the Lambda runtime",
    "AWS_DEFAULT_REGION": "set by the Lambda runtime",
    "SIGNING_KEY": "local runs; deployed stacks read the key from Secrets Manager (SIGNING_SECRET)",
}
STAR_ALLOWED = {
    "TracingHasNoResourceLevelPermissions": "X-Ray actions have no resource-level permissions",
    "SmsToPhoneNumbersHasNoResourceArn": "SNS Publish to a phone number has no resource ARN",
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    chalice = str(Path(sys.executable).parent / "chalice")
    subprocess.run(
        [
            chalice,
            "package",
            "--pkg-format",
            "cloudformation",
            "--template-format",
            "yaml",
            "--merge-template",
            "template.yaml",
            "--stage",
            request.param,
            str(out / "dist"),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    template: dict[str, Any] = load(str(out / "dist" / "sam.yaml"))
    return {
        "stage": request.param,
        "path": out / "dist" / "sam.yaml",
        "template": template,
        "zip": out / "dist" / "deployment.zip",
    }


def resources(packaged: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in packaged["template"]["Resources"].items() if v["Type"] == kind}


def test_the_package_has_the_code_and_cfn_lint_finds_nothing(packaged):
    from cfnlint.api import lint

    assert packaged["zip"].stat().st_size > 1_000_000
    findings = lint(packaged["path"].read_text(), regions=["us-east-1", "eu-central-1"])
    assert [str(f) for f in findings if f.rule.id[0] in "EW"] == []  # errors and warnings; not informational


def test_sam_translates_it_to_plain_cloudformation(packaged):
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = copy.deepcopy(packaged["template"])
    for function in FUNCTIONS:
        template["Resources"][function]["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    translated = transform(template, {"Stage": packaged["stage"]}, NoManagedPolicies())
    kinds = [r["Type"] for r in translated["Resources"].values()]
    assert kinds.count("AWS::Lambda::Function") == len(FUNCTIONS)
    assert "AWS::ApiGateway::RestApi" in kinds and "AWS::Events::Rule" in kinds
    assert "AWS::Serverless::Function" not in kinds


def test_every_function_has_its_own_role_and_tracing(packaged):
    functions = resources(packaged, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    roles = [f["Properties"]["Role"] for f in functions.values()]
    assert all(isinstance(r, dict) and "Fn::GetAtt" in r for r in roles)
    assert len({r["Fn::GetAtt"][0] for r in roles}) == len(FUNCTIONS)
    assert all(f["Properties"]["Tracing"] == "Active" for f in functions.values())


def read_environment_variables() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'env(?:iron)?\.get\(\s*"([A-Z][A-Z0-9_]+)"', text))
        names |= set(re.findall(r'environ\[\s*"([A-Z][A-Z0-9_]+)"\s*\]', text))
    return names


def test_every_environment_variable_the_code_reads_is_set_for_every_function(packaged):
    needed = read_environment_variables() - set(LOCAL_ONLY)
    assert {"DOCTORS_TABLE", "REMINDER_FUNCTION_ARN", "SCHEDULER_ROLE_ARN"} <= needed
    for name, function in resources(packaged, "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert needed <= set(variables), (name, sorted(needed - set(variables)))
        stage = packaged["stage"]
        assert variables["APPOINTMENTS_TABLE"] == f"clinic-{stage}-appointments"
        assert "DYNAMODB_ENDPOINT" not in variables and "OUTBOX_DIR" not in variables


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_iam_is_least_privilege(packaged):
    for name, role in resources(packaged, "AWS::IAM::Role").items():
        for statement in statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), (name, statement)
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "*" in targets:
                assert statement.get("Sid") in STAR_ALLOWED, (name, statement)
    dispatcher = statements(resources(packaged, "AWS::IAM::Role")["ReminderDispatcherRole"])
    dispatcher_actions = {
        a for s in dispatcher for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "dynamodb:DeleteItem" not in dispatcher_actions and "sns:CreatePlatformEndpoint" not in dispatcher_actions


def test_data_is_encrypted_recoverable_and_protected_in_prod(packaged):
    prod = packaged["stage"] == "prod"
    for name, table in resources(packaged, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Ref": "ClinicDataKey"},
        }, name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        if name not in ("IdempotencyTable", "RealtimeTable"):
            assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}, name
        assert ("TimeToLiveSpecification" in props) == (name in ("IdempotencyTable", "RealtimeTable")), name
    assert "RoomsTable" in resources(packaged, "AWS::DynamoDB::Table")
    key = packaged["template"]["Resources"]["ClinicDataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert prod or packaged["stage"] == "dev"


def test_the_authorizer_is_the_stacks_user_pool_with_the_three_groups(packaged):
    api = packaged["template"]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    authorizer = api["securityDefinitions"]["ClinicUserPool"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]
    groups = {g["Properties"]["GroupName"] for g in resources(packaged, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"patients", "doctors", "admins"}
    schema = packaged["template"]["Resources"]["UserPool"]["Properties"]["Schema"]
    assert any(a["Name"] == "doctor_id" for a in schema)
    client = packaged["template"]["Resources"]["UserPoolClient"]["Properties"]
    assert "custom:doctor_id" not in client["WriteAttributes"]


def test_alarms_cover_5xx_errors_throttles_the_dlq_and_failed_reminders(packaged):
    alarms = resources(packaged, "AWS::CloudWatch::Alarm").values()
    watched = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"], str(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms
    }
    assert ("AWS/ApiGateway", "5XXError", "clinic-booking") in watched
    for function in ALARMED:
        assert ("AWS/Lambda", "Errors", str({"Ref": function})) in watched
        assert ("AWS/Lambda", "Throttles", str({"Ref": function})) in watched
    assert ("ClinicBooking", "ReminderFailed", "clinic-booking") in watched
    assert any(m == "ApproximateNumberOfMessagesVisible" for _, m, _ in watched)


def test_the_publisher_reads_the_appointments_stream_and_pushes_to_the_websocket_api(packaged):
    publisher = packaged["template"]["Resources"]["SlotPublisher"]["Properties"]
    source = publisher["Events"]["SlotPublisherDynamodbEventSource"]["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]}
    table = packaged["template"]["Resources"]["AppointmentsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "WebsocketAPI" in str(publisher["Environment"]["Variables"]["WEBSOCKET_ENDPOINT"])
