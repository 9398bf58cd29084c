"""Every function fed by a DynamoDB stream may read that stream.

SAM adds the stream-reading permissions to a function's role only when SAM makes the role; ours are our own
(`Role: !GetAtt ...`), so a consumer whose role lacks them deploys and then never receives a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load(str(ROOT / "template.yaml"))["Resources"]
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


def _stream_consumers() -> list[tuple[str, str, str]]:
    """(function, its role, the table whose stream feeds it) for every DynamoDB stream event source."""
    found = []
    for name, resource in RESOURCES.items():
        # the template overlays Chalice's packaged functions: an event source is known by its Stream
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if "Stream" in (event.get("Properties") or {}):
                table = event["Properties"]["Stream"]["Fn::GetAtt"][0]
                role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
                found.append((name, role, table))
    return found


def _streams_allowed(role: str, action: str) -> set[str]:
    """The tables whose streams `role` may apply `action` to."""
    tables: set[str] = set()
    for policy in RESOURCES[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement["Effect"] != "Allow" or action not in actions:
                continue
            resources: list[Any] = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for r in resources:
                target = r.get("Fn::GetAtt") if isinstance(r, dict) else None
                if target and target[1] == "StreamArn":
                    tables.add(str(target[0]))
    return tables


def test_the_template_has_stream_consumers_to_check() -> None:
    # GIVEN the template THEN the check below has the appointments stream's consumers to look at (not vacuous)
    assert len({t for _, _, t in _stream_consumers() if t == "AppointmentsTable"}) == 1
    assert len([c for c in _stream_consumers() if c[2] == "AppointmentsTable"]) >= 4


@pytest.mark.parametrize(("function", "role", "table"), _stream_consumers())
def test_each_stream_consumer_may_read_its_stream(function: str, role: str, table: str) -> None:
    # GIVEN a function triggered by a table's stream, running under its own role
    # WHEN the role's statements are read
    # THEN it may describe the stream, get shard iterators and read records from it
    for action in STREAM_ACTIONS:
        assert table in _streams_allowed(role, action), (function, role, action)
