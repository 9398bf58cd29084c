"""moto, as the functional tests run it, answers every DynamoDB call as its own serializer would: the stand-in that
writes answers as moto built them (`tests/patches.py`, `DynamoDBAnswersAsBuilt`) only skips a walk whose result
cannot differ, and leaves to the serializer everything it would change."""

from __future__ import annotations

import base64
import datetime
from collections import Counter
from collections.abc import Iterator

import boto3
import pytest

from tests import patches
from tests.functional.conftest import Api
from tests.helpers import admin, patient

DAY = "2026-12-02"  # a Wednesday; the functional tests' clock (NOW) is Tuesday 2026-12-01


@pytest.fixture
def checked(api: Api) -> Iterator[patches.DynamoDBAnswersAsBuilt]:
    """The stand-in, also running moto's serializer on every answer it writes and keeping those that differ."""
    stand_in = patches.moto_writes_dynamodb_answers_as_built()
    before = stand_in.checking, stand_in.compared, stand_in.differing
    stand_in.checking, stand_in.compared, stand_in.differing = True, Counter(), []
    yield stand_in
    stand_in.checking, stand_in.compared, stand_in.differing = before


def test_a_visits_whole_life_reads_the_same_through_either_writing(api, checked):
    # GIVEN a doctor with hours, and DynamoDB's answers written both ways
    doc = api.doctor_with_hours()
    # WHEN a visit is booked, listed, read, rescheduled, its reminders changed, and cancelled, with a refusal between
    made = api.book(doc, reminderPreferences={"email": True, "timing": "24h"})
    assert api.try_book(doc, patient("patient-2", name="Sam Roe")).status_code == 409
    api.call("GET", f"/api/appointments/availability/{doc['id']}/{DAY}", patient())
    api.call("GET", f"/api/appointments/patient/patient-1?from={DAY}&to={DAY}", patient())
    api.call("GET", f"/api/appointments/{made['id']}", patient())
    moved = api.call("PUT", f"/api/appointments/{made['id']}/reschedule", patient(), {"date": DAY, "time": "10:30"})
    assert moved.status_code == 200, moved.data
    assert api.call("DELETE", f"/api/appointments/{made['id']}", patient()).status_code == 200
    api.call("GET", f"/api/appointments/doctor/{doc['id']}?from={DAY}&to={DAY}", admin())
    # THEN botocore parses every answer alike either way, and they were the data plane's answers
    assert checked.differing == []
    data_plane = {"GetItem", "Query", "PutItem", "TransactWriteItems", "BatchGetItem"}
    assert data_plane <= set(checked.compared), checked.compared
    assert checked.compared.total() >= 20


@pytest.mark.parametrize(
    "built",
    [
        {"Item": {"photo": {"B": b"\x00\x01"}}},  # bytes: the serializer base64-encodes them
        {"Table": {"CreationDateTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}},  # a timestamp
        {"Item": None},  # a None member: the serializer leaves it out
        {"Items": [], "LastEvaluatedKey": None},
        ValueError("an error"),  # an error's answer has its own shape
        None,  # an empty answer
    ],
)
def test_what_the_serializer_would_change_goes_the_old_way(built):
    # GIVEN an answer as moto built it WHEN written THEN only a plain JSON dict without a None is written as built
    assert patches.DynamoDBAnswersAsBuilt._as_built(built) is None


def test_a_plain_answer_is_written_as_built():
    built = {"Item": {"pk": {"S": "doctor#1"}, "n": {"N": "3"}, "ok": {"BOOL": True}, "no": {"NULL": True}}}
    assert patches.DynamoDBAnswersAsBuilt._as_built(built) == (
        '{"Item": {"pk": {"S": "doctor#1"}, "n": {"N": "3"}, "ok": {"BOOL": true}, "no": {"NULL": true}}}'
    )


def test_binary_attributes_and_timestamps_still_reach_the_caller_intact(cloud):
    # GIVEN moto with the stand-in, and a table
    patches.apply_to_moto()
    client = boto3.client("dynamodb", region_name="us-east-1")
    created = client.create_table(
        TableName="binary-check",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # WHEN an item with a binary attribute is written and read back
    client.put_item(TableName="binary-check", Item={"k": {"S": "a"}, "b": {"B": b"\x00\xffraw"}})
    got = client.get_item(TableName="binary-check", Key={"k": {"S": "a"}})
    # THEN the bytes come back as written, and the table's creation time as a datetime
    assert got["Item"]["b"]["B"] == b"\x00\xffraw"
    assert isinstance(created["TableDescription"]["CreationDateTime"], datetime.datetime)
    assert base64.b64encode(got["Item"]["b"]["B"])  # bytes, not a base64 string twice encoded


def test_an_expression_trees_copy_is_its_own():
    from moto.dynamodb.parsing import expressions

    # GIVEN a parsed UpdateExpression WHEN copied as moto's validator now copies it
    parser = vars(expressions)["UpdateExpressionParser"]  # not in the module's typed names
    tree = parser.make("SET #a = :a, #b = if_not_exists(#b, :zero) + :one REMOVE #c")
    copied = patches._copied_through_pickle(tree)
    # THEN the copy has the same shape, and rewriting it leaves the parsed tree as it was
    assert type(copied) is type(tree) and len(copied.children) == len(tree.children)
    copied.children.clear()
    assert tree.children


def test_what_pickle_cannot_take_is_deep_copied_as_before():
    kept = lambda: 1  # noqa: E731 (a function: pickle refuses a lambda, deepcopy keeps it)
    assert patches._copied_through_pickle({"f": kept}) == {"f": kept}


@pytest.fixture
def table(cloud) -> str:
    """A table in moto with every moto patch applied."""
    patches.apply_to_moto()
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="expressions",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "expressions"


def test_one_update_text_with_other_names_and_values_updates_each_item_by_its_own(table):
    client = boto3.client("dynamodb", region_name="us-east-1")
    text = "SET #a = :a, #n = if_not_exists(#n, :zero) + :one REMOVE #gone"
    # GIVEN one UpdateExpression text, used on two items with other names and values (its tree is kept after the first)
    for key, name, value in (("x", "colour", "red"), ("y", "shape", "round"), ("x", "colour", "blue")):
        client.update_item(
            TableName=table,
            Key={"k": {"S": key}},
            UpdateExpression=text,
            ExpressionAttributeNames={"#a": name, "#n": "count", "#gone": "old"},
            ExpressionAttributeValues={":a": {"S": value}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
        )
    # THEN each item holds its own names and values, counted per item
    x = client.get_item(TableName=table, Key={"k": {"S": "x"}})["Item"]
    y = client.get_item(TableName=table, Key={"k": {"S": "y"}})["Item"]
    assert x == {"k": {"S": "x"}, "colour": {"S": "blue"}, "count": {"N": "2"}}
    assert y == {"k": {"S": "y"}, "shape": {"S": "round"}, "count": {"N": "1"}}


def test_an_update_text_that_does_not_parse_is_refused_every_time(table):
    client = boto3.client("dynamodb", region_name="us-east-1")
    for _ in range(2):  # WHEN the same broken text is sent twice THEN both are refused (a failure is never kept)
        with pytest.raises(client.exceptions.ClientError, match="Invalid UpdateExpression"):
            client.update_item(
                TableName=table,
                Key={"k": {"S": "x"}},
                UpdateExpression="SET #a = = :a",
                ExpressionAttributeNames={"#a": "colour"},
                ExpressionAttributeValues={":a": {"S": "red"}},
            )


def test_one_condition_text_is_checked_against_each_calls_own_names_and_values(table):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.put_item(TableName=table, Item={"k": {"S": "x"}, "colour": {"S": "red"}, "shape": {"S": "round"}})
    condition = "attribute_exists(#a) AND #a = :v"

    def put_if(name: str, value: str) -> bool:
        try:
            client.put_item(
                TableName=table,
                Item={"k": {"S": "x"}, "colour": {"S": "red"}, "shape": {"S": "round"}},
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": name},
                ExpressionAttributeValues={":v": {"S": value}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # GIVEN one condition text (its tokens are kept after the first call)
    # WHEN it names other attributes and values THEN each call is judged by its own
    assert put_if("colour", "red") is True
    assert put_if("colour", "round") is False
    assert put_if("shape", "round") is True
    assert put_if("shape", "red") is False
    assert put_if("size", "red") is False


def test_a_condition_text_that_does_not_parse_is_refused_every_time(table):
    client = boto3.client("dynamodb", region_name="us-east-1")
    refusals = []
    for _ in range(2):  # WHEN the same unreadable text is sent twice THEN both are refused alike (never kept)
        with pytest.raises(ValueError, match="Cannot parse condition") as refused:  # moto's own refusal, unwrapped
            client.put_item(
                TableName=table,
                Item={"k": {"S": "x"}},
                ConditionExpression="#a = :v ?? :w",
                ExpressionAttributeNames={"#a": "colour"},
                ExpressionAttributeValues={":v": {"S": "red"}, ":w": {"S": "blue"}},
            )
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
