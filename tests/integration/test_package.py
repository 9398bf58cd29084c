"""The deployable stack (`chalice package --merge-template template.yaml`): cfn-lint clean, SAM-translatable,
every function with its own least-privilege role and the environment its code reads, data encrypted with
our key, and the alarms in place."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
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
    "PatientSignup",
    "WebhookFanout",
    "WebhookSender",
    "WebhookSweep",
    "WaitlistOffers",
    "WaitlistSweep",
    "CalendarSync",
    "CalendarVisits",
    "FhirAuthorizer",
)
ALARMED = ("APIHandler", "ReminderDispatcher", "ReminderSweep", "SlotPublisher")
LOCAL_ONLY = {
    "DYNAMODB_ENDPOINT": "DynamoDB Local only",
    "OUTBOX_DIR": "outbox delivery is for local runs",
    "TABLE_PREFIX": "a fallback; deployed stages name every table",
    "AWS_REGION": "set by the Lambda runtime",
    "AWS_DEFAULT_REGION": "set by the Lambda runtime",
    "SIGNING_KEY": "local runs; deployed stacks read the key from Secrets Manager (SIGNING_SECRET)",
    "DEV_SIGN_IN": "make run's development sign-in for the patient web app",
    "WEB_DIR": "a fallback; the web app's files ship beside chalicelib/",
    "LAMBDA_TASK_ROOT": "set by the Lambda runtime (tracing is on only in Lambda)",
    "AWS_SAM_LOCAL": "set by sam local (no X-Ray daemon there)",
    "AWS_CHALICE_CLI_MODE": "set by chalice local (no X-Ray daemon there)",
    "POWERTOOLS_TRACE_DISABLED": "an operator's switch; unset means traced",
    "COGNITO_DOMAIN": "optional: the web app's Hosted UI sign-in, set by the operator once the domain exists",
    "COGNITO_CLIENT_ID": "optional: the web app's Hosted UI client, set with COGNITO_DOMAIN",
    "WEB_API_BASE": "optional: only when the web app is served from another origin than the API",
}
STAR_ALLOWED = {
    "TracingHasNoResourceLevelPermissions": "X-Ray actions have no resource-level permissions",
    "SmsToPhoneNumbersHasNoResourceArn": "SNS Publish to a phone number has no resource ARN",
}


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `chalice package` reads (the app, chalicelib, .chalice, requirements, template), copied without
    bytecode: chalice zips chalicelib whole, __pycache__ included, and hashes it to name its dependency cache, so
    in the tree the other worker's imports kept changing both (a zip walked while .pyc files came and went, and
    the dependencies rebuilt). The newest cache (the last `make package`'s) comes along, valid for the same sources."""
    tree = tmp_path_factory.mktemp("project")
    for name in ("app.py", "requirements.txt", "template.yaml"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "chalicelib", tree / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tree / ".chalice" / "deployments").mkdir(parents=True)
    shutil.copy2(ROOT / ".chalice" / "config.json", tree / ".chalice" / "config.json")
    built = sorted((ROOT / ".chalice" / "deployments").glob("*.zip"), key=lambda p: p.stat().st_mtime)
    if built:  # the newest only: a working tree keeps one per source state it was ever packaged in
        shutil.copy2(built[-1], tree / ".chalice" / "deployments" / built[-1].name)
    return tree


RELEASE = "v9.8.7-1-gabcdef0"


@pytest.fixture(scope="session")
def released_code() -> dict[str, bytes]:
    """Each released code zip by the digest of the zip `chalice package` wrote: the stages' zips are one file
    (chalice reuses its package for the same sources), so its release is made once, not once per stage."""
    return {}


def released_as_make_package_does(dist: Path, released: dict[str, bytes]) -> None:
    """`make package`'s next step, `infra.release` (its code part taken from `released` when the same zip was
    released before)."""
    import hashlib

    from infra.release import release_code, release_template

    package = dist / "deployment.zip"
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    if digest in released:
        package.write_bytes(released[digest])
    else:
        release_code(dist, RELEASE)
        released[digest] = package.read_bytes()
    release_template(dist)


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def packaged(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    project: Path,
    released_code: dict[str, bytes],
) -> dict[str, Any]:
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
        cwd=project,
        check=True,
        capture_output=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    released_as_make_package_does(out / "dist", released_code)
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


def test_the_package_carries_the_compiled_catalogues_and_babels_locale_data(packaged):
    # GIVEN the Lambda package THEN each language's compiled catalogue (reminders, .ics, error messages) and the
    # CLDR data Babel formats dates with ride in it (issue 32)
    import zipfile

    from chalicelib.domain.language import LANGUAGES

    names = set(zipfile.ZipFile(packaged["zip"]).namelist())
    for language in LANGUAGES[1:]:
        assert f"chalicelib/locale/{language}/LC_MESSAGES/messages.mo" in names, language
        assert f"babel/locale-data/{language}.dat" in names, language
    assert "babel/global.dat" in names and "babel/locale-data/en.dat" in names


def test_the_package_carries_neither_web_app(packaged):
    # GIVEN the Lambda package THEN neither the patient app nor the console rides in it: CloudFront serves them
    import zipfile

    names = zipfile.ZipFile(packaged["zip"]).namelist()
    ours = [n for n in names if n.startswith(("chalicelib/", "web/", "app.py"))]
    assert "app.py" in ours and any(n.startswith("chalicelib/api/") for n in ours)
    assert [n for n in ours if n.startswith("web/") or n.endswith((".html", ".js", ".css"))] == []


def sam_translated(packaged) -> dict:
    """The packaged template as SAM translates it to plain CloudFormation (code in S3, no managed policies)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = copy.deepcopy(packaged["template"])
    for function in FUNCTIONS:
        template["Resources"][function]["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    return transform(template, {"Stage": packaged["stage"]}, NoManagedPolicies())


def test_sam_translates_it_to_plain_cloudformation(packaged):
    translated = sam_translated(packaged)
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
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}, name
        # the patients table's TTL expires the patients' daily message counts (the reminders' cap), nothing else
        ttl_tables = ("IdempotencyTable", "RealtimeTable", "WebhookDeliveriesTable", "PatientsTable")
        assert ("TimeToLiveSpecification" in props) == (name in ttl_tables), name
    assert "RoomsTable" in resources(packaged, "AWS::DynamoDB::Table")
    key = packaged["template"]["Resources"]["ClinicDataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert prod or packaged["stage"] in ("dev", "staging")


def test_the_authorizer_takes_both_pools_and_only_the_staff_pool_holds_staff_roles(packaged):
    api = packaged["template"]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    authorizer = api["securityDefinitions"]["ClinicUserPool"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [
        {"Fn::GetAtt": ["UserPool", "Arn"]},
        {"Fn::GetAtt": ["StaffUserPool", "Arn"]},
    ]
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]["UserPoolId"]["Ref"]
        for g in resources(packaged, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"patients": "UserPool", "doctors": "StaffUserPool", "admins": "StaffUserPool"}
    template = packaged["template"]["Resources"]
    staff = template["StaffUserPool"]["Properties"]
    assert any(a["Name"] == "doctor_id" for a in staff["Schema"])
    assert not any(a["Name"] == "doctor_id" for a in template["UserPool"]["Properties"]["Schema"])
    assert "custom:doctor_id" not in template["StaffUserPoolClient"]["Properties"]["WriteAttributes"]
    # the app honours `admins` and `doctors` only in tokens the staff pool issued
    issuer = template["APIHandler"]["Properties"]["Environment"]["Variables"]["STAFF_POOL_ISSUER"]
    assert issuer == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${StaffUserPool}"}


def test_fhir_routes_use_the_lambda_authorizer_through_its_alias_and_the_rest_api_keeps_cognitos(packaged):
    # GIVEN the packaged REST API THEN every protected /fhir/R4 method names the FHIR Lambda authorizer (people's ID
    # tokens and system clients' access tokens) and every protected /api method the Cognito user-pool authorizer
    api = packaged["template"]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    fhir, rest = set(), set()
    for path, operations in api["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "security" not in operation:
                continue
            names = {name for requirement in operation["security"] for name in requirement}
            if path.startswith("/fhir/R4/"):
                assert names == {"fhir_authorizer"}, (method, path)
                fhir.add((method, path))
            else:
                assert names == {"ClinicUserPool"}, (method, path)
                rest.add((method, path))
    assert ("get", "/fhir/R4/Slot") in fhir and ("patch", "/fhir/R4/Appointment/{id}") in fhir
    assert ("delete", "/api/holds/{id}") in rest
    # AND the authorizer is the FhirAuthorizer function's `live` alias, a token authorizer on Authorization whose
    # answer is cached a minute, and it trusts the three pools and the integration's app client
    definition = api["securityDefinitions"]["fhir_authorizer"]
    assert definition["x-amazon-apigateway-authtype"] == "custom" and definition["name"] == "Authorization"
    authorizer = definition["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token" and authorizer["authorizerResultTtlInSeconds"] == 60
    assert authorizer["authorizerUri"]["Fn::Sub"][1] == {"Handler": {"Ref": "FhirAuthorizer.Alias"}}
    resources_ = packaged["template"]["Resources"]
    permission = resources_["FhirAuthorizerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "FhirAuthorizer.Alias"}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    function = resources_["FhirAuthorizer"]["Properties"]
    assert function["Handler"] == "chalicelib.api.fhir.fhir_authorizer"
    variables = function["Environment"]["Variables"]
    assert variables["PATIENT_POOL_ISSUER"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    }
    assert variables["STAFF_POOL_ISSUER"]["Fn::Sub"].endswith("/${StaffUserPool}")
    assert variables["SYSTEM_CLIENT_ISSUER"]["Fn::Sub"].endswith("/${IntegrationsUserPool}")
    assert variables["SYSTEM_CLIENT_IDS"] == {"Ref": "IntegrationClient"}
    # AND it may read no data: its role has its log group, tracing and the key for its environment only
    actions = {a for s in statements(resources_["FhirAuthorizerRole"]) for a in as_list(s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "kms:Decrypt",
    }


def test_patients_sign_up_and_join_patients_staff_are_admin_made_with_mfa_and_both_pools_are_guarded(packaged):
    template = packaged["template"]["Resources"]
    patients, staff = template["UserPool"]["Properties"], template["StaffUserPool"]["Properties"]
    assert patients["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert patients["LambdaConfig"]["PostConfirmation"] == {"Ref": "PatientSignup.Alias"}
    assert set(patients["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]) == {
        "email",
        "phone_number",
    }
    assert set(patients["AutoVerifiedAttributes"]) == {"email", "phone_number"}
    assert staff["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert staff["MfaConfiguration"] == "ON" and "LambdaConfig" not in staff
    for pool in (patients, staff):
        assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"} and pool["UserPoolTier"] == "PLUS"
        assert pool["DeletionProtection"] == {"Fn::If": ["IsProd", "ACTIVE", "INACTIVE"]}
    permission = next(
        p["Properties"]
        for p in resources(packaged, "AWS::Lambda::Permission").values()
        if p["Properties"].get("Principal") == "cognito-idp.amazonaws.com"
    )
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert permission["FunctionName"] == {"Ref": "PatientSignup.Alias"}
    joins = resources(packaged, "AWS::IAM::Policy")["PatientSignupJoinsPatients"]["Properties"]
    assert joins["Roles"] == [{"Ref": "PatientSignupRole"}]
    [statement] = joins["PolicyDocument"]["Statement"]
    assert statement["Action"] == "cognito-idp:AdminAddUserToGroup"
    assert statement["Resource"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    alarms = [a["Properties"] for a in resources(packaged, "AWS::CloudWatch::Alarm").values()]
    assert any(a["Dimensions"][0]["Value"] == {"Ref": "PatientSignup"} for a in alarms)


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


# --- issue 17 and the infrastructure of issues 10, 11 and 12 ----------------------------------------------
ASYNC_FAILURE_QUEUES = {"ReminderDispatcher": "DispatcherFailureQueue", "ReminderSweep": "SweepFailureQueue"}
BODY_FIELDS = ("requestOverride", "responseOverride", "body", "authorization", "Authorization", "querystring")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_is_capped_keeps_its_environment_under_the_stacks_key_and_logs_to_its_own_group(packaged):
    functions = resources(packaged, "AWS::Serverless::Function")
    groups = resources(packaged, "AWS::Logs::LogGroup")
    used = set()
    for name, function in functions.items():
        props = function["Properties"]
        assert 1 <= props["ReservedConcurrentExecutions"] <= 50, name
        assert props["KmsKeyArn"] == {"Fn::GetAtt": ["ClinicDataKey", "Arn"]}, name
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups and group not in used, name
        used.add(group)
    roles = resources(packaged, "AWS::IAM::Role")
    for name, function in functions.items():  # Lambda decrypts the environment with the function's own role
        role = roles[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert any(
            "kms:Decrypt" in as_list(s["Action"]) and s["Resource"] == {"Fn::GetAtt": ["ClinicDataKey", "Arn"]}
            for s in statements(role)
        ), name
    total = sum(f["Properties"]["ReservedConcurrentExecutions"] for f in functions.values())
    assert total <= 900, "an account's default 1,000 must keep 100 unreserved"


def test_log_groups_are_kept_a_year_under_the_stacks_key_and_each_role_writes_only_its_own(packaged):
    stage = packaged["stage"]
    for name, group in resources(packaged, "AWS::Logs::LogGroup").items():
        props = group["Properties"]
        assert props["RetentionInDays"] >= 365, name
        assert props["KmsKeyId"] == {"Fn::GetAtt": ["ClinicDataKey", "Arn"]}, name
        assert props["LogGroupName"]["Fn::Sub"].startswith(("/aws/lambda/clinic-${Stage}-", "/aws/apigateway/clinic-"))
    functions = resources(packaged, "AWS::Serverless::Function")
    roles = resources(packaged, "AWS::IAM::Role")
    for name, function in functions.items():
        role = roles[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        log_statements = [s for s in statements(role) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
        assert [s["Resource"] for s in log_statements] == [
            {"Fn::GetAtt": [function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
        ], name
        assert all("logs:CreateLogGroup" not in as_list(s["Action"]) for s in log_statements), name
    key = packaged["template"]["Resources"]["ClinicDataKey"]["Properties"]["KeyPolicy"]["Statement"]
    logs = next(s for s in key if s["Principal"].get("Service") == {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"})
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert all("${Stage}" in a["Fn::Sub"] for a in arns) and stage in ("dev", "staging", "prod")


def test_the_key_grants_aws_services_only_for_this_account(packaged):
    key = packaged["template"]["Resources"]["ClinicDataKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statement in key:
        if "Service" in statement["Principal"]:
            conditions = statement["Condition"]
            assert conditions.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"} or (
                "kms:EncryptionContext:aws:logs:arn" in conditions.get("ArnLike", {})
            ), statement["Sid"]


def test_access_logs_carry_no_bodies_or_tokens_and_the_rest_stage_is_traced(packaged):
    rest = packaged["template"]["Resources"]["RestAPI"]["Properties"]
    ws = packaged["template"]["Resources"]["WebsocketAPIStage"]["Properties"]
    assert rest["TracingEnabled"] is True
    assert rest["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["RestAccessLogGroup", "Arn"]}
    assert ws["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["WebsocketAccessLogGroup", "Arn"]}
    for log_format in (rest["AccessLogSetting"]["Format"], ws["AccessLogSettings"]["Format"]):
        fields = json.loads(str(log_format))
        assert "requestId" in fields and "status" in fields
        assert not any(word in value for value in fields.values() for word in BODY_FIELDS), fields
        assert "$context.error.message" not in str(log_format)  # the gateway's message may echo a token
    assert all(m["DataTraceEnabled"] is False for m in rest["MethodSettings"])
    assert ws["DefaultRouteSettings"]["DataTraceEnabled"] is False
    assert all(m.get("CachingEnabled") is False for m in rest["MethodSettings"])


def test_rest_and_websocket_stages_are_throttled(packaged):
    rest = packaged["template"]["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    everything = next(m for m in rest if m["ResourcePath"] == "/*" and m["HttpMethod"] == "*")
    assert 0 < everything["ThrottlingRateLimit"] <= everything["ThrottlingBurstLimit"]
    ws = packaged["template"]["Resources"]["WebsocketAPIStage"]["Properties"]["DefaultRouteSettings"]
    assert 0 < ws["ThrottlingRateLimit"] <= ws["ThrottlingBurstLimit"]


GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND"),
    "INCOMPLETE_SIGNATURE": ("404", "NOT_FOUND"),
    "UNAUTHORIZED": ("401", "UNAUTHENTICATED"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "WAF_FILTERED": ("403", "FORBIDDEN"),
    "THROTTLED": ("429", "RATE_LIMITED"),
    "DEFAULT_4XX": (None, "BAD_REQUEST"),
    "DEFAULT_5XX": ("503", "SERVICE_UNAVAILABLE"),
}


def test_the_gateways_own_answers_use_the_contracts_error_shape_and_never_echo_a_token(packaged):
    responses = packaged["template"]["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert set(GATEWAY_RESPONSES) <= set(responses)
    for kind, (status, code) in GATEWAY_RESPONSES.items():
        response = responses[kind]
        assert response.get("StatusCode") == status, kind
        body = json.loads(str(response["ResponseTemplates"]["application/json"]))
        assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], kind
        assert "$" not in str(response["ResponseTemplates"]), kind  # fixed words: nothing from the request
        headers = response["ResponseParameters"]["Headers"]
        assert headers["X-Content-Type-Options"] == "'nosniff'" and headers["Cache-Control"] == "'no-store'"
        assert ("Retry-After" in headers) == (code in ("RATE_LIMITED", "SERVICE_UNAVAILABLE")), kind


def test_sam_puts_the_gateway_responses_on_the_deployed_api(packaged):
    translated = sam_translated(packaged)
    api = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi")
    deployed = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    assert deployed["THROTTLED"]["statusCode"] == "429"
    assert deployed["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    stage = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True and "AccessLogSetting" in stage["Properties"]
    configs = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert len(configs) == len(ASYNC_FAILURE_QUEUES)
    mapping = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_web_acl_guards_the_rest_stage_with_rate_limits_per_address_and_per_user_and_managed_rules(packaged):
    acl = resources(packaged, "AWS::WAFv2::WebACL")["ApiWebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    per_ip = rules["PerClientAddress"]["Statement"]["RateBasedStatement"]
    assert per_ip["AggregateKeyType"] == "IP"
    per_user = rules["PerSignedInUser"]["Statement"]["RateBasedStatement"]
    assert per_user["AggregateKeyType"] == "CUSTOM_KEYS"
    assert per_user["CustomKeys"][0]["Header"]["Name"].lower() == "authorization"
    for name in ("PerClientAddress", "PerSignedInUser"):
        block = rules[name]["Action"]["Block"]["CustomResponse"]
        assert block["ResponseCode"] == 429 and block["ResponseHeaders"][0]["Name"] == "Retry-After"
        body = json.loads(str(acl["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"]))
        assert body["error"]["code"] == "RATE_LIMITED"
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert all(
        r["OverrideAction"] == {"None": {}} for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]
    )
    assert acl["VisibilityConfig"]["SampledRequestsEnabled"] is False  # samples would keep tokens
    association = next(iter(resources(packaged, "AWS::WAFv2::WebACLAssociation").values()))
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "/restapis/${RestAPI}/stages/api" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_failed_async_and_stream_invocations_wait_in_queues_that_page(packaged):
    template = packaged["template"]["Resources"]
    alarms = resources(packaged, "AWS::CloudWatch::Alarm").values()
    watched_queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    for function, queue in ASYNC_FAILURE_QUEUES.items():
        config = template[function]["Properties"]["EventInvokeConfig"]
        assert config["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": [queue, "Arn"]},
        }
        assert config["MaximumRetryAttempts"] <= 2
    source = template["SlotPublisher"]["Properties"]["Events"]["SlotPublisherDynamodbEventSource"]["Properties"]
    assert source["BisectBatchOnFunctionError"] is True
    assert 0 < source["MaximumRetryAttempts"] <= 5 and 0 < source["MaximumRecordAgeInSeconds"] <= 3600
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["PublisherFailureQueue", "Arn"]}
    queues = {*ASYNC_FAILURE_QUEUES.values(), "PublisherFailureQueue"}
    assert queues | {"ReminderDeadLetterQueue"} <= watched_queues
    for queue in queues:
        assert template[queue]["Properties"]["KmsMasterKeyId"] == {"Ref": "ClinicDataKey"}
    roles = resources(packaged, "AWS::IAM::Role")
    for function, queue in {**ASYNC_FAILURE_QUEUES, "SlotPublisher": "PublisherFailureQueue"}.items():
        role = roles[template[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
        sends = [s for s in statements(role) if "sqs:SendMessage" in as_list(s["Action"])]
        assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queue, "Arn"]}], function
    ages = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "IteratorAge"]
    assert [a["Dimensions"][0]["Value"] for a in ages] == [{"Ref": "SlotPublisher"}]
    assert any(a["Properties"]["MetricName"] == "ReminderFailed" for a in alarms)


def test_the_api_may_only_add_audit_entries_and_reminders_leave_only_through_the_stacks_identities(packaged):
    roles = resources(packaged, "AWS::IAM::Role")
    audit = {"Fn::GetAtt": ["AuditTable", "Arn"]}
    for name, role in roles.items():
        for statement in statements(role):
            if statement["Effect"] == "Allow" and audit in as_list(statement["Resource"]):
                # the sweeps audit the holds they lapse; the waitlist audits the holds its offers take
                assert name in ("ApiHandlerRole", "ReminderSweepRole", "WaitlistOffersRole", "WaitlistSweepRole"), name
                assert not {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(as_list(statement["Action"]))
    for writer in ("ApiHandlerRole", "ReminderSweepRole", "WaitlistOffersRole", "WaitlistSweepRole"):
        denied = [s for s in statements(roles[writer]) if s["Effect"] == "Deny"]
        assert any(audit in as_list(s["Resource"]) and "dynamodb:DeleteItem" in s["Action"] for s in denied), writer
    for sender in ("ReminderDispatcherRole", "ReminderSweepRole"):
        email = next(s for s in statements(roles[sender]) if s.get("Sid") == "Email")
        assert all("identity/*" not in str(r) for r in as_list(email["Resource"])), sender
        sms = next(s for s in statements(roles[sender]) if s.get("Sid") == "SmsToPhoneNumbersHasNoResourceArn")
        assert sms["Condition"] == {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}


# --- issue 15: the patient web app on S3 behind CloudFront ------------------------------------------------------
def test_the_web_app_is_a_private_bucket_read_only_by_its_distribution_through_origin_access_control(packaged):
    template = packaged["template"]["Resources"]
    bucket = template["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    oac = template["WebOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    statements = template["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    read = next(s for s in statements if s["Effect"] == "Allow")
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
    assert "${WebDistribution}" in read["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    config = template["WebDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["web"]["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    # the page calls /api/* on its own origin: the distribution forwards it to the REST API, caching nothing
    [api] = config["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*" and origins[api["TargetOriginId"]]["OriginPath"] == "/api"
    cache = template[api["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    assert cache["DefaultTTL"] == 0 and cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"][
        "Headers"
    ] == ["Authorization"]


def test_the_web_apps_responses_carry_csp_hsts_and_nosniff(packaged):
    template = packaged["template"]["Resources"]
    config = template["WebDistribution"]["Properties"]["DistributionConfig"]
    for behavior in (config["DefaultCacheBehavior"], *config["CacheBehaviors"]):
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "WebHeadersPolicy"}
    headers = template["WebHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    policy = str(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'self'" in policy and "script-src 'self';" in policy  # nothing from a third-party CDN
    assert "frame-ancestors 'none'" in policy and "amazoncognito.com" in policy
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"] == {"Override": True}


def test_the_hosted_ui_signs_patients_in_with_the_code_flow_back_to_the_web_app_and_deploy_finds_it(packaged):
    template = packaged["template"]
    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False  # a public client: the page proves itself with PKCE
    assert client["CallbackURLs"] == [{"Fn::Sub": "https://${WebDistribution.DomainName}/"}]
    assert template["Resources"]["UserPoolDomain"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    from infra.web_deploy import CLIENT_OUTPUT, NEEDED_OUTPUTS

    assert {*NEEDED_OUTPUTS, CLIENT_OUTPUT} <= set(template["Outputs"])


# --- issue 31: deploy without fear ---------------------------------------------------------------------------
def test_every_function_is_published_behind_live_and_shifted_by_codedeploy_watched_by_its_alarms(packaged):
    # GIVEN the packaged stack THEN every function publishes a version behind `live`, shifted by CodeDeploy:
    # all at once in dev, a 10 % canary for 5 minutes in staging and prod
    alarms = resources(packaged, "AWS::CloudWatch::Alarm")
    functions = resources(packaged, "AWS::Serverless::Function")
    for name, function in functions.items():
        props = function["Properties"]
        assert props["AutoPublishAlias"] == "live", name
        preference = props["DeploymentPreference"]
        assert preference["Type"] == {"Fn::If": ["IsDev", "AllAtOnce", "Canary10Percent5Minutes"]}, name
        # AND the alarms that roll it back exist, and each watches this function's errors and throttles
        watched = [alarms[a["Ref"]]["Properties"] for a in preference["Alarms"]]
        own = {
            a["MetricName"] for a in watched if a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]
        }
        assert {"Errors", "Throttles"} <= own, name
    api = [
        alarms[a["Ref"]]["Properties"] for a in functions["APIHandler"]["Properties"]["DeploymentPreference"]["Alarms"]
    ]
    assert {("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Latency")} <= {
        (a["Namespace"], a["MetricName"]) for a in api
    }
    for sender in ("ReminderDispatcher", "ReminderSweep"):
        rollback = functions[sender]["Properties"]["DeploymentPreference"]["Alarms"]
        assert any(alarms[a["Ref"]]["Properties"]["MetricName"] == "ReminderFailed" for a in rollback), sender
    conditions = packaged["template"]["Conditions"]
    assert conditions["IsDev"] == {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}
    assert packaged["template"]["Parameters"]["Stage"]["AllowedValues"] == ["dev", "staging", "prod"]


def test_every_caller_invokes_the_alias_never_latest(packaged):
    translated = sam_translated(packaged)["Resources"]
    by_type = lambda kind: [r["Properties"] for r in translated.values() if r["Type"] == kind]  # noqa: E731
    aliases = {logical for logical, r in translated.items() if r["Type"] == "AWS::Lambda::Alias"}
    assert aliases == {f"{f}Aliaslive" for f in FUNCTIONS}
    assert len(by_type("AWS::CodeDeploy::DeploymentGroup")) == len(FUNCTIONS)
    # the stream and queue consumers (event source mappings) and the sweeps' schedules
    mappings = by_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) >= 4 and all(m["FunctionName"]["Ref"] in aliases for m in mappings)
    targets = [t for rule in by_type("AWS::Events::Rule") for t in rule["Targets"]]
    assert len(targets) >= 2 and all(t["Arn"]["Ref"] in aliases for t in targets)
    # every permission to invoke names an alias (API Gateway's REST and WebSocket routes, the rules, Cognito)
    for permission in by_type("AWS::Lambda::Permission"):
        assert permission["FunctionName"]["Ref"] in aliases, permission
    # every REST route and WebSocket route integrates with the alias
    api = next(r for r in translated.values() if r["Type"] == "AWS::ApiGateway::RestApi")["Properties"]["Body"]
    uris = [
        op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path in api["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "x-amazon-apigateway-integration" in op
    ]
    assert uris and all("${APIHandlerAliaslive}" in uri and ".Arn}" not in uri for uri in uris)
    for integration in by_type("AWS::ApiGatewayV2::Integration"):
        assert integration["IntegrationUri"]["Fn::Sub"][1]["Handler"]["Ref"] in aliases
    # the Scheduler's target: the dispatcher's alias, which is all its role may invoke
    env = packaged["template"]["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["REMINDER_FUNCTION_ARN"]["Fn::Sub"].endswith(":function:clinic-${Stage}-reminder-dispatcher:live")
    role = packaged["template"]["Resources"]["SchedulerInvokeRole"]
    invoke = next(s for s in statements(role) if s["Action"] == "lambda:InvokeFunction")
    new, in_flight = invoke["Resource"]  # and the function itself, for schedules made before the alias existed
    assert new == env["REMINDER_FUNCTION_ARN"]
    assert in_flight == {"Fn::Sub": new["Fn::Sub"].removesuffix(":live")}


def test_the_package_carries_its_release(packaged):
    import zipfile

    stamped = zipfile.ZipFile(packaged["zip"]).read("chalicelib/_version.py").decode()
    assert 'VERSION = "v9.8.7-1-gabcdef0"' in stamped


def test_every_table_is_backed_up_daily_35_days_and_the_audit_table_for_years(packaged):
    template = packaged["template"]
    tables = resources(packaged, "AWS::DynamoDB::Table")
    assert all(
        t["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for t in tables.values()
    )
    plans = {name: r["Properties"]["BackupPlan"] for name, r in resources(packaged, "AWS::Backup::BackupPlan").items()}
    [tables_rule] = plans["TablesBackupPlan"]["BackupPlanRule"]
    [audit_rule] = plans["AuditBackupPlan"]["BackupPlanRule"]
    assert tables_rule["ScheduleExpression"] == audit_rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert tables_rule["Lifecycle"] == {"DeleteAfterDays": 35}
    assert audit_rule["Lifecycle"] == {"DeleteAfterDays": {"Ref": "AuditBackupRetentionDays"}}
    assert template["Parameters"]["AuditBackupRetentionDays"]["Default"] >= 6 * 365
    selections = {
        r["Properties"]["BackupPlanId"]["Ref"]: r["Properties"]["BackupSelection"]
        for r in resources(packaged, "AWS::Backup::BackupSelection").values()
    }
    everything = selections["TablesBackupPlan"]
    assert everything["Resources"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/clinic-${Stage}-*"}
    ]
    assert everything["NotResources"] == [{"Fn::GetAtt": ["AuditTable", "Arn"]}]
    assert selections["AuditBackupPlan"]["Resources"] == [{"Fn::GetAtt": ["AuditTable", "Arn"]}]
    for table in tables.values():  # every table's name falls under the selection's pattern
        assert table["Properties"]["TableName"]["Fn::Sub"].startswith("clinic-${Stage}-")
    vault = template["Resources"]["BackupVault"]
    assert vault["DeletionPolicy"] == "Retain" and vault["Properties"]["EncryptionKeyArn"] == {
        "Fn::GetAtt": ["ClinicDataKey", "Arn"]
    }


def test_botocore_is_the_runtimes_and_the_code_carries_its_bytecode(packaged):
    import importlib.util
    import zipfile

    # GIVEN the zip make package ships (infra/release.py leaves botocore to the runtime, adds the .pyc files)
    names = set(zipfile.ZipFile(packaged["zip"]).namelist())
    # THEN neither botocore nor boto3 is in it: the runtime's pair is used
    assert not [n for n in names if n.startswith(("botocore/", "boto3/"))]
    # AND the entry point, our modules and the libraries have bytecode for the functions' Python (this one)
    runtime = packaged["template"]["Resources"]["APIHandler"]["Properties"]["Runtime"]
    assert runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"
    for module in ("app.py", "chalicelib/container.py", "pynamodb/models.py", "pydantic/main.py"):
        assert importlib.util.cache_from_source(module) in names, module
