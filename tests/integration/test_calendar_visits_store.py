"""Visits out against real parts. One contract for the visits' copy store on the in-memory fake, moto and DynamoDB
Local (a copy read back whole; an older visit version never recorded over a newer one, racing writers included;
the retry list holds only failed and pending copies, due ones or one calendar's; a disconnected calendar's copies
forgotten). And the consumer end to end on DynamoDB Local with a real CalDAV server (Radicale): the server down
and a revoked password leave the copy failed with its reason and next attempt; after recovery the retry writes
one event; a reschedule rewrites the same UID with a higher SEQUENCE; a cancel deletes it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.calendar_feeds import CalDavVisitWriter
from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.calendars import DynamoConnectionStore, DynamoVisitCopyStore
from chalicelib.config import Settings
from chalicelib.domain.appointments import Status
from chalicelib.domain.calendar_connections import Connection, CopyState, DueCopy, Kind, VisitCopy
from chalicelib.services.calendar_visits import VisitChange, VisitsOut
from tests.calendar_servers import Radicale, radicale_server
from tests.fakes.calendars import InMemoryCopyStore, InMemoryVisits
from tests.helpers import FixedClock, make_appointment
from tests.moto_cloud import fresh_tables

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def copy(appointment_id: str = "a1", version: int = 1, state: CopyState = CopyState.WRITTEN, **fields: Any) -> Any:
    return VisitCopy("d1", "c1", appointment_id, version, state, NOW, **fields)


def store_of(kind: str, request: Any) -> Iterator[Any]:
    if kind == "memory":
        yield InMemoryCopyStore()
    elif kind == "moto":
        with mock_aws():
            settings = Settings.from_env({"TABLE_PREFIX": "contract", "AWS_REGION": "us-east-1"})
            fresh_tables(settings)
            yield DynamoVisitCopyStore(models.bind(settings))
    else:
        yield DynamoVisitCopyStore(models.bind(request.getfixturevalue("settings")))  # DynamoDB Local, emptied


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: Any) -> Iterator[Any]:
    yield from store_of(request.param, request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing_store(request: Any) -> Iterator[Any]:
    """Conditional writes under racing threads, where they serialize as DynamoDB's do (not moto)."""
    yield from store_of(request.param, request)


def test_a_copy_is_read_back_whole_and_never_goes_back_a_version(store: Any) -> None:
    failed = copy(version=2, state=CopyState.FAILED, error="403", attempts=1, retry_at=NOW, ends_at=NOW, starts_at=NOW)
    assert store.save(failed) is True
    assert store.get("d1", "c1", "a1") == failed
    # WHEN an older version of the visit is recorded THEN it is refused and the newer copy stays
    assert store.save(copy(version=1)) is False
    assert store.get("d1", "c1", "a1") == failed
    # AND the same or a newer version is recorded
    assert store.save(copy(version=2)) is True and store.save(copy(version=3)) is True
    assert store.get("d1", "c1", "a1").version == 3 and store.get("d1", "c1", "other") is None


def test_the_retry_list_holds_failed_and_pending_copies_until_they_are_written(store: Any) -> None:
    store.save(copy("a1", state=CopyState.FAILED, error="down", attempts=1, retry_at=NOW + timedelta(minutes=5)))
    store.save(copy("a2", state=CopyState.PENDING, retry_at=NOW))
    store.save(copy("a3"))
    store.save(replace(copy("b1", state=CopyState.FAILED, retry_at=NOW), connection_id="c2"))
    # THEN the due ones, oldest first; one calendar's, due or not
    assert [d.appointment_id for d in store.due(NOW)] == ["a2", "b1"]
    assert [d.appointment_id for d in store.due(NOW + timedelta(minutes=5))] == ["a2", "b1", "a1"]
    assert store.due(NOW, "d1", "c1") == [
        DueCopy("d1", "c1", "a2", NOW),
        DueCopy("d1", "c1", "a1", NOW + timedelta(minutes=5)),
    ]
    # WHEN a copy is written THEN it leaves the list; a dropped entry too
    store.save(copy("a2", version=2))
    store.drop_due("d1", "c2", "b1")
    assert [d.appointment_id for d in store.due(NOW + timedelta(hours=1))] == ["a1"]
    # WHEN the calendar is disconnected THEN its copies and retries are gone, another calendar's stay
    store.save(replace(copy("b2"), connection_id="c2"))
    store.forget_connection("d1", "c1")
    assert store.of_connection("d1", "c1") == [] and store.due(NOW + timedelta(hours=1)) == []
    assert [c.appointment_id for c in store.of_connection("d1", "c2")] == ["b1", "b2"]


def test_racing_writers_of_two_versions_leave_the_newer(racing_store: Any) -> None:
    versions = list(range(1, 21))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda v: racing_store.save(copy(version=v)), reversed(versions)))
    assert racing_store.get("d1", "c1", "a1").version == 20


def sequence(text: str) -> int:
    return int(text.split("SEQUENCE:")[1].split(maxsplit=1)[0])


# --- the consumer end to end: DynamoDB Local and Radicale ------------------------------------------------------------
@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with radicale_server(tmp_path / "radicale") as server:
        yield server


class Wired:
    def __init__(self, settings: Settings, radicale: Radicale) -> None:
        tables = models.bind(settings)
        self.clock = FixedClock(NOW)
        self.calendar = radicale.calendar("dr", "app-password-1")
        self.connection = Connection("c1", "d1", Kind.CALDAV, str(self.calendar.url), False, True, NOW, "dr", True)
        DynamoConnectionStore(tables).save(self.connection)
        self.visits = InMemoryVisits(make_appointment(version=1, starts_at=NOW + timedelta(days=2)))
        self.copies = DynamoVisitCopyStore(tables)
        writer = CalDavVisitWriter(allow_loopback=True, timeout=3)

        class Vault:
            def get(self, connection_id: str) -> tuple[str, str] | None:
                return ("dr", "app-password-1")

        self.service = VisitsOut(
            self.copies, DynamoConnectionStore(tables), self.visits, Vault(), lambda: writer, self.clock
        )

    def change(self) -> Any:
        run = self.service.new_run()
        self.service.on_change(VisitChange("1", "a1", "d1"), run)
        return self.service.finish(run)

    def copy(self) -> VisitCopy:
        found = self.copies.get("d1", "c1", "a1")
        assert found is not None
        return found

    def events(self) -> list[str]:
        return [str(e.data) for e in self.calendar.events()]


def test_faults_leave_the_copy_failed_and_the_retry_writes_one_event_that_follows_the_visit(
    settings: Settings, radicale: Radicale
) -> None:
    wired = Wired(settings, radicale)
    # GIVEN the app password revoked WHEN the visit's record arrives THEN the copy is failed: 401, retried later
    radicale.set_password("dr", "revoked-1")
    assert wired.change().failed == 1
    failed = wired.copy()
    assert failed.state is CopyState.FAILED and "401" in (failed.error or "")
    assert failed.retry_at == NOW + timedelta(minutes=5)
    # WHEN the password works again and the retry is due THEN one event
    radicale.set_password("dr", "app-password-1")
    wired.clock.current = NOW + timedelta(minutes=5)
    assert wired.service.retry_due().written == 1
    (first,) = wired.events()
    assert "UID:a1@clinic-booking" in first and wired.copy().state is CopyState.WRITTEN
    # WHEN the visit moves THEN the same UID is rewritten with a higher SEQUENCE, still one event
    wired.visits.by_id["a1"] = make_appointment(version=2, starts_at=NOW + timedelta(days=3))
    assert wired.change().written == 1
    (moved,) = wired.events()
    assert sequence(moved) > sequence(first) and "UID:a1@clinic-booking" in moved
    # WHEN the server is down and the visit is cancelled THEN the copy is failed, the event still there
    radicale.process.terminate()
    radicale.process.wait(10)
    wired.visits.by_id["a1"] = make_appointment(version=3, status=Status.CANCELLED)
    assert wired.change().failed == 1
    assert wired.copy().state is CopyState.FAILED and "down" in (wired.copy().error or "")
