"""`make deploy`'s last step: put the patient web app (web/) and its config.json on the stack's S3 bucket.

The page's config is written from the deployed stack's outputs (API base, WebSocket URL, Hosted UI domain and
client), so nothing about a deployment is baked into the code; the same shape `make run` serves at /config.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib.api.webapp import ASSETS, TYPES, WEB_DIR, web_config

NEEDED_OUTPUTS = ("WebBucketName", "WebDistributionId", "WebApiBase", "WebsocketUrl", "HostedUiDomain")
CLIENT_OUTPUT = "UserPoolClientId"
FILES_CACHE = "no-cache"
"""The files keep their names across deploys, so browsers revalidate (ETag) rather than keep a stale copy."""


class DeployError(Exception):
    """The stack is not ready for the web app: a clear sentence, not a stack trace."""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in (*NEEDED_OUTPUTS, CLIENT_OUTPUT) if not outputs.get(name)]
    if missing:
        raise DeployError(f"stack {stack_name} has no output {', '.join(missing)}: deploy template.yaml first")
    return outputs


def config_from_outputs(outputs: Mapping[str, str], change_window_minutes: str = "120") -> dict[str, Any]:
    """The page's config.json: built by the same function that serves it locally, from the stack's values."""
    config = web_config(
        {
            "WEB_API_BASE": outputs["WebApiBase"],
            "COGNITO_DOMAIN": outputs["HostedUiDomain"],
            "COGNITO_CLIENT_ID": outputs[CLIENT_OUTPUT],
            "PATIENT_CHANGE_WINDOW_MINUTES": change_window_minutes,
        }
    )
    config["websocketUrl"] = outputs["WebsocketUrl"]
    return config


def upload(s3: Any, bucket: str, config: Mapping[str, Any], web_dir: Path = WEB_DIR) -> tuple[list[str], str]:
    """Every file the page loads (the served list, nothing else from the folder), then config.json.

    Returns the keys and a digest of what was uploaded: the same content gives the same digest."""
    keys: list[str] = []
    digest = hashlib.sha256()
    for name in sorted(set(ASSETS.values())):
        path = web_dir / name
        body = path.read_bytes()
        content_type = TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        s3.put_object(Bucket=bucket, Key=name, Body=body, ContentType=content_type, CacheControl=FILES_CACHE)
        keys.append(name)
        digest.update(name.encode() + b"\0" + body)
    body = json.dumps(config, indent=2).encode()
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=body,
        ContentType="application/json",
        CacheControl="no-store",  # a redeploy's new URLs must reach every open page at its next load
    )
    keys.append("config.json")
    digest.update(b"config.json\0" + body)
    return keys, digest.hexdigest()


def deploy(session: Any, stack_name: str, web_dir: Path = WEB_DIR) -> dict[str, Any]:
    """Upload, then invalidate the distribution so CloudFront's edges fetch the new files."""
    outputs = stack_outputs(session.client("cloudformation"), stack_name)
    config = config_from_outputs(outputs)
    keys, digest = upload(session.client("s3"), outputs["WebBucketName"], config, web_dir)
    # The content's digest as the caller reference: a deploy of unchanged files is not a new invalidation.
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": digest},
    )
    return {"bucket": outputs["WebBucketName"], "keys": keys, "url": outputs.get("WebUrl", ""), "config": config}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    import boto3

    try:
        done = deploy(boto3.session.Session(region_name=args.region), args.stack_name)
    except DeployError as err:
        print(f"web app not deployed: {err}")
        return 2
    print(f"web app: {len(done['keys'])} files on s3://{done['bucket']}, served at {done['url']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
