"""`make deploy` puts the web app on the stack's bucket with a config.json written from the stack's outputs
(infra/web_deploy.py), against moto's CloudFormation, S3 and CloudFront."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.api.webapp import ASSETS
from infra import web_deploy

REGION = "eu-central-1"
HOSTED_UI = "clinic-prod-123456789012.auth.eu-central-1.amazoncognito.com"
WEBSOCKET = "wss://ws42.execute-api.eu-central-1.amazonaws.com/api"


def stack(cloudformation: Any, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Anything": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket="clinic-web-files", CreateBucketConfiguration={"LocationConstraint": REGION})
        distribution = session.client("cloudfront").create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "web",
                            "DomainName": "clinic-web-files.s3.eu-central-1.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "web",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "MinTTL": 0,
                },
            }
        )["Distribution"]
        yield {"session": session, "s3": s3, "distribution": distribution}


def outputs_of(aws: dict[str, Any]) -> dict[str, str]:
    domain = aws["distribution"]["DomainName"]
    return {
        "WebBucketName": "clinic-web-files",
        "WebDistributionId": aws["distribution"]["Id"],
        "WebUrl": f"https://{domain}/",
        "WebApiBase": f"https://{domain}",
        "WebsocketUrl": WEBSOCKET,
        "HostedUiDomain": HOSTED_UI,
        "UserPoolClientId": "patients-web-client",
        "UserPoolId": "eu-central-1_abc",
    }


def test_deploy_uploads_every_served_file_and_a_config_from_the_stacks_outputs(aws):
    # GIVEN a deployed stack with the web app's outputs
    stack(aws["session"].client("cloudformation"), "clinic-prod", outputs_of(aws))
    # WHEN make deploy's web step runs
    done = web_deploy.deploy(aws["session"], "clinic-prod")
    # THEN every file the page loads is on the bucket, with its type, and nothing else from the folder
    listed = aws["s3"].list_objects_v2(Bucket="clinic-web-files")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted({*ASSETS.values(), "config.json"})
    index = aws["s3"].get_object(Bucket="clinic-web-files", Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8" and index["CacheControl"] == "no-cache"
    script = aws["s3"].get_object(Bucket="clinic-web-files", Key="app.js")
    assert script["ContentType"].startswith("text/javascript")
    # AND config.json names the API, the WebSocket and the Hosted UI of this stack, read fresh on every load
    got = aws["s3"].get_object(Bucket="clinic-web-files", Key="config.json")
    assert got["ContentType"] == "application/json" and got["CacheControl"] == "no-store"
    config = json.loads(got["Body"].read())
    assert config["apiBase"] == f"https://{aws['distribution']['DomainName']}"
    assert config["websocketUrl"] == WEBSOCKET
    assert config["signIn"] == {
        "mode": "cognito",
        "domain": HOSTED_UI,
        "clientId": "patients-web-client",
        "scopes": ["openid", "email", "phone", "profile"],
    }
    assert done["config"] == config
    # AND CloudFront is told to drop its copies
    invalidations = aws["session"].client("cloudfront").list_invalidations(DistributionId=aws["distribution"]["Id"])
    assert invalidations["InvalidationList"]["Quantity"] == 1


def test_a_stack_without_the_web_outputs_is_refused_before_anything_is_uploaded(aws):
    # GIVEN a stack deployed from a template that has no Hosted UI domain yet
    outputs = outputs_of(aws)
    del outputs["HostedUiDomain"]
    stack(aws["session"].client("cloudformation"), "clinic-dev", outputs)
    # WHEN the web step runs THEN it says which output is missing, and the bucket stays empty
    with pytest.raises(web_deploy.DeployError, match="HostedUiDomain"):
        web_deploy.deploy(aws["session"], "clinic-dev")
    assert aws["s3"].list_objects_v2(Bucket="clinic-web-files").get("KeyCount") == 0
    # AND the command line says so in words, with a non-zero exit
    assert web_deploy.main(["--stack-name", "clinic-dev", "--region", REGION]) == 2
