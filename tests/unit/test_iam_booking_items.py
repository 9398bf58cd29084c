"""The API's role allows every item action of a booking's reads and transaction, and of the patient directory's
search entries; the roles that write a doctor's busy times, every one of that write (TransactWriteItems and
TransactGetItems need only the per-item actions, on each table they touch; a Query of an index needs the index's
ARN): a call its role may not make is refused in AWS only, while every local run and test passes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load(str(ROOT / "template.yaml"))["Resources"]

BOOKING_ITEMS = {
    # the staff booking's read: the doctor and the patient's directory record (TransactGetItems, or two GetItems)
    ("dynamodb:GetItem", "DoctorsTable"),
    ("dynamodb:GetItem", "PatientsTable"),
    # the day's busy times
    ("dynamodb:Query", "ScheduleTable"),
    # the transaction: the appointment, its lock items, the day counter, the patient's per-doctor-day count and
    # active-booking set, the busy-times guard, hold items; its reminders, room, audit entry; a patient's own
    # record and its directory search entries (put, or deleted for a kind with no value)
    ("dynamodb:PutItem", "AppointmentsTable"),
    ("dynamodb:PutItem", "ScheduleTable"),
    ("dynamodb:UpdateItem", "ScheduleTable"),
    ("dynamodb:DeleteItem", "ScheduleTable"),
    ("dynamodb:PutItem", "RemindersTable"),
    ("dynamodb:PutItem", "RoomsTable"),
    ("dynamodb:PutItem", "AuditTable"),
    ("dynamodb:UpdateItem", "PatientsTable"),
    ("dynamodb:PutItem", "PatientsTable"),
    ("dynamodb:DeleteItem", "PatientsTable"),
    # a full active-booking set: read it and its visits, remove the ids that no longer count
    ("dynamodb:GetItem", "ScheduleTable"),
    ("dynamodb:BatchGetItem", "AppointmentsTable"),
}
DIRECTORY_ITEMS = {
    # staff search: a Query of the patients table's search-index, then the records
    ("dynamodb:Query", "PatientsTable/index"),
    ("dynamodb:BatchGetItem", "PatientsTable"),
    # a sign-in rewrites the patient's three search entries in one BatchWriteItem
    ("dynamodb:BatchWriteItem", "PatientsTable"),
}


def _target(resource: Any) -> str | None:
    """A statement's resource as `Table` (`!GetAtt Table.Arn`) or `Table/index` (`!Sub "${Table.Arn}/index/*"`)."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        found = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/\*", resource["Fn::Sub"])
        return f"{found.group(1)}/index" if found else None
    return None


def allowed(role: str) -> set[tuple[str, str]]:
    """(action, table or `table/index`) pairs the role's statements allow."""
    pairs: set[tuple[str, str]] = set()
    for policy in RESOURCES[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            targets = {t for t in map(_target, resources) if t}
            pairs |= {(action, target) for action in actions for target in targets}
    return pairs


def test_the_api_role_may_do_each_item_action_of_a_booking() -> None:
    # GIVEN the API's role WHEN its statements are read
    missing = BOOKING_ITEMS - allowed("ApiHandlerRole")
    # THEN every item action of a booking's reads and transaction is allowed
    assert not missing, sorted(missing)


def test_the_api_role_may_search_the_directory_and_write_its_entries() -> None:
    # GIVEN the API's role WHEN its statements are read
    missing = DIRECTORY_ITEMS - allowed("ApiHandlerRole")
    # THEN staff may query the search index, and a sign-in may write the patient's search entries
    assert not missing, sorted(missing)


BUSY_WRITE_ITEMS = {
    # a sync's write of a doctor-day's busy times (`write_busy`, one transaction): the connection's busy item (put,
    # or deleted), the day's busy and availability versions, and the doctor's `has_busy_times`
    ("dynamodb:PutItem", "ScheduleTable"),
    ("dynamodb:DeleteItem", "ScheduleTable"),
    ("dynamodb:UpdateItem", "ScheduleTable"),
    ("dynamodb:UpdateItem", "DoctorsTable"),
}


def test_the_roles_that_write_busy_times_may_do_each_item_action_of_it() -> None:
    # GIVEN the calendar sync's role and the API's (a calendar disconnected through it clears its busy times)
    for role in ("CalendarSyncRole", "ApiHandlerRole"):
        # WHEN its statements are read THEN every item action of a busy-times write is allowed
        missing = BUSY_WRITE_ITEMS - allowed(role)
        assert not missing, (role, sorted(missing))
