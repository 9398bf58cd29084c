"""The API's web ACL in template.yaml: per-address limits count the viewer's address behind CloudFront and the
client's when called directly, the per-user limit stays, and bodies are limited where the app limits them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cfnlint.decode.cfn_yaml import load

from chalicelib.api.http import MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load(str(ROOT / "template.yaml"))["Resources"]
ACL = RESOURCES["ApiWebAcl"]["Properties"]
RULES = {rule["Name"]: rule for rule in ACL["Rules"]}
SECRET = {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"}


def _plain(value: Any) -> Any:
    """cfn-lint's loader hands back its own dict and str types; compare as plain JSON."""
    return json.loads(json.dumps(value))


def _blocks_with(rule: dict[str, Any], status: int, code: str) -> None:
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == status
    body = json.loads(str(ACL["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"]))
    assert body["error"]["code"] == code


def test_behind_cloudfront_the_per_address_limit_counts_the_viewer_not_the_edge():
    # GIVEN the rule for requests that came through the web distribution
    rate = RULES["PerViewerAddress"]["Statement"]["RateBasedStatement"]
    # THEN it aggregates on the viewer's address as the distribution hands it on, and a request whose header is
    # not an address is counted against its rule, never let through
    assert rate["AggregateKeyType"] == "FORWARDED_IP"
    assert _plain(rate["ForwardedIPConfig"]) == {"HeaderName": "X-Viewer-Address", "FallbackBehavior": "MATCH"}
    assert (rate["Limit"], rate["EvaluationWindowSec"]) == (1000, 300)
    # AND it trusts that header only beside the distribution's secret, which a direct caller does not have
    vouched = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert vouched["FieldToMatch"] == {"SingleHeader": {"Name": "x-origin-verify"}}
    assert vouched["PositionalConstraint"] == "EXACTLY" and _plain(vouched["SearchString"]) == SECRET
    _blocks_with(RULES["PerViewerAddress"], 429, "RATE_LIMITED")


def test_called_directly_the_per_address_limit_counts_the_clients_own_address():
    # GIVEN the rule for everything that did not come through the distribution
    rate = RULES["PerClientAddress"]["Statement"]["RateBasedStatement"]
    # THEN it counts the address that reached the gateway, exactly for requests without the distribution's secret:
    # a direct caller that sends its own X-Viewer-Address (or a wrong secret) is still counted on its real address
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] == 1000
    viewer_scope = RULES["PerViewerAddress"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    assert _plain(rate["ScopeDownStatement"]) == {"NotStatement": {"Statement": _plain(viewer_scope)}}
    _blocks_with(RULES["PerClientAddress"], 429, "RATE_LIMITED")


def test_the_per_user_limit_stays():
    rate = RULES["PerSignedInUser"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "CUSTOM_KEYS" and "ScopeDownStatement" not in rate
    assert [k["Header"]["Name"].lower() for k in rate["CustomKeys"]] == ["authorization"]
    _blocks_with(RULES["PerSignedInUser"], 429, "RATE_LIMITED")


def test_the_distribution_sends_the_secret_and_sets_the_viewer_address_on_every_api_request():
    config = RESOURCES["WebDistribution"]["Properties"]["DistributionConfig"]
    api_origin = next(o for o in config["Origins"] if o["Id"] == "api")
    # THEN the API origin carries the secret the web ACL looks for (CloudFront replaces a viewer's own header)
    assert _plain(api_origin["OriginCustomHeaders"]) == [{"HeaderName": "X-Origin-Verify", "HeaderValue": SECRET}]
    # AND every API request runs the function that writes the viewer's address, before it reaches the origin
    api = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    assert _plain(api["FunctionAssociations"]) == [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["ApiViewerAddressFunction", "FunctionMetadata.FunctionARN"]},
        }
    ]
    assert RESOURCES["OriginVerifySecret"]["Type"] == "AWS::SecretsManager::Secret"


def test_the_viewer_address_function_replaces_whatever_the_viewer_sent():
    # GIVEN the CloudFront function's code, run by node as CloudFront would, for a viewer that forged the header
    function = RESOURCES["ApiViewerAddressFunction"]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    event = {
        "viewer": {"ip": "203.0.113.7"},
        "request": {"method": "GET", "uri": "/api/doctors", "headers": {"x-viewer-address": {"value": "10.0.0.1"}}},
    }
    script = str(function["FunctionCode"]) + f"\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));"
    # WHEN it handles the request
    node = shutil.which("node") or "node"
    handled = json.loads(subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout)
    # THEN the header holds the viewer's real address, and the rest of the request is unchanged
    assert handled["headers"]["x-viewer-address"] == {"value": "203.0.113.7"}
    assert (handled["method"], handled["uri"]) == ("GET", "/api/doctors")


def test_the_web_acl_takes_the_bodies_the_app_takes_and_refuses_larger_ones_as_the_app_does():
    # GIVEN the common rule set, whose SizeRestrictions_BODY blocks bodies over 8 KB
    common = RULES["AWSManagedCommon"]["Statement"]["ManagedRuleGroupStatement"]
    # THEN that rule only counts, so bookings with long notes and a year of holidays (over 8 KB) get through
    assert _plain(common["RuleActionOverrides"]) == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    # AND the web ACL refuses what the app refuses: bodies over its 64 KiB, 413 in the contract's shape
    size = RULES["BodyOver64KiB"]["Statement"]["SizeConstraintStatement"]
    assert (size["ComparisonOperator"], size["Size"]) == ("GT", MAX_BODY_BYTES)
    # ... inspecting bodies as far as that limit (KB_64 is 65,536 bytes), and refusing one larger than it can see
    assert _plain(ACL["AssociationConfig"]) == {"RequestBody": {"API_GATEWAY": {"DefaultSizeInspectionLimit": "KB_64"}}}
    assert MAX_BODY_BYTES == 64 * 1024
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    _blocks_with(RULES["BodyOver64KiB"], 413, "PAYLOAD_TOO_LARGE")
    body = json.loads(str(ACL["CustomResponseBodies"]["PayloadTooLarge"]["Content"]))
    assert body["error"]["details"] == {"maxBytes": MAX_BODY_BYTES}
