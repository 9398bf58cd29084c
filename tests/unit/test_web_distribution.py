"""The web distribution answers the pages' addresses: `/console` with the clinic console and a room link
(`/rooms/<roomId>`) with the patient app, the same as `make run` does. The CloudFront function's own code, taken
from template.yaml, is run in Node (the JavaScript CloudFront runs it as)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import load

from chalicelib.api.webapp import ASSETS, PAGES

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load(str(ROOT / "template.yaml"))["Resources"]


def rewritten(uris: list[str]) -> list[str]:
    code = TEMPLATE["WebPagesFunction"]["Properties"]["FunctionCode"]
    script = (
        code + f"\nconsole.log(JSON.stringify({json.dumps(uris)}.map((uri) => handler({{request: {{uri}}}}).uri)));"
    )
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(done.stdout)


def test_console_and_room_links_reach_their_pages_and_files_keep_their_names():
    # GIVEN the addresses people open WHEN the distribution's viewer-request function sees them
    asked = [
        "/console",
        "/console/",
        "/rooms/room-123",
        "/rooms/abc_DEF-9/",
        "/",
        "/app.js",
        "/shared/api.js",
        "/console.js",
        "/rooms/",
        "/rooms/a/b",
        "/roomsx/a",
        "/api/doctors",
    ]
    # THEN the pages map to their files on the bucket and nothing else is touched
    assert rewritten(asked) == [
        "/console.html",
        "/console.html",
        "/index.html",
        "/index.html",
        "/",
        "/app.js",
        "/shared/api.js",
        "/console.js",
        "/rooms/",
        "/rooms/a/b",
        "/roomsx/a",
        "/api/doctors",
    ]


def test_the_function_runs_on_the_files_behaviour_and_the_pages_it_names_are_uploaded():
    config = TEMPLATE["WebDistribution"]["Properties"]["DistributionConfig"]
    [association] = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"] == {"Fn::GetAtt": ["WebPagesFunction", "FunctionMetadata.FunctionARN"]}
    assert TEMPLATE["WebPagesFunction"]["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    # the files it points at are among those make deploy uploads
    assert {"console.html", "index.html"} <= set(ASSETS.values())
    assert PAGES == {"/": "index.html", "/console": "console.html"}
