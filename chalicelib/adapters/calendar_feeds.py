"""Fetching a doctor's calendar feed: one conditional GET (If-None-Match), connected to an address checked
after DNS resolution (private, loopback unless allowed, link-local and metadata ranges refused, as for
webhooks), redirects followed only to addresses that pass the same check, the body read up to the size cap,
and the whole attempt bounded in time. Errors come back in plain words; no credential or body is logged."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from chalicelib.adapters.webhooks import _PinnedConnection
from chalicelib.domain.busy import MAX_FEED_BYTES
from chalicelib.domain.calendar_connections import Connection, Kind
from chalicelib.domain.webhooks import refused_address
from chalicelib.services.busy_sync import FeedAnswer, FeedFetcher, FeedUnavailable

TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 3


def feed_url(url: str) -> str:
    """`webcal://` is https."""
    return "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url


class HttpFeedFetcher:
    def __init__(self, allow_loopback: bool, timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_FEED_BYTES) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._max_bytes = max_bytes

    def fetch(self, url: str, etag: str | None) -> FeedAnswer:
        current = feed_url(url)
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = self._get(current, etag)
            if status in (301, 302, 303, 307, 308) and headers.get("location"):
                current = urljoin(current, headers["location"])
                continue
            if status == 304:
                return FeedAnswer(not_modified=True)
            if status == 200:
                return FeedAnswer(body=body, etag=headers.get("etag"))
            if status in (401, 403):
                raise FeedUnavailable(f"the calendar server refused our credentials ({status})")
            raise FeedUnavailable(f"the feed answered {status}")
        raise FeedUnavailable("the feed redirects too many times")

    def _get(self, url: str, etag: str | None) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FeedUnavailable("the feed address must be an https:// or webcal:// URL")
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address = check_address(url, self._allow_loopback)
        connection = _PinnedConnection(parts.hostname, port, address, https, self._timeout)
        watchdog = threading.Timer(self._timeout, connection.shut)
        watchdog.daemon = True
        watchdog.start()
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = {"Accept": "text/calendar", "User-Agent": "clinic-booking-calendar-sync"}
            if etag:
                headers["If-None-Match"] = etag
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            body = answer.read(self._max_bytes + 1)
            if connection.cut:
                raise FeedUnavailable("the feed did not answer in time")
            if len(body) > self._max_bytes:
                raise FeedUnavailable(f"the feed is larger than {self._max_bytes // (1024 * 1024)} MB")
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
        except FeedUnavailable:
            raise
        except TimeoutError as exc:
            raise FeedUnavailable("the feed did not answer in time") from exc
        except ssl.SSLError as exc:
            raise FeedUnavailable("the feed's TLS certificate is not valid") from exc
        except ConnectionRefusedError as exc:
            raise FeedUnavailable("the calendar server is down (connection refused)") from exc
        except (http.client.HTTPException, OSError) as exc:
            if connection.cut:
                raise FeedUnavailable("the feed did not answer in time") from exc
            raise FeedUnavailable(f"the feed could not be read ({type(exc).__name__})") from exc
        finally:
            watchdog.cancel()
            connection.close()


class CalDavFetcher:
    """A CalDAV calendar read as one feed (the `caldav` client): the collection's sync-token first (one PROPFIND);
    the same token as last time is a 304; otherwise the events of the window (one calendar-query REPORT),
    gathered into one iCalendar body for `domain.busy`. The host is checked as for feeds before connecting."""

    def __init__(
        self,
        credentials: tuple[str, str] | None,
        window: tuple[datetime, datetime],
        allow_loopback: bool,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_FEED_BYTES,
    ) -> None:
        self._credentials = credentials
        self._window = window
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._max_bytes = max_bytes

    def fetch(self, url: str, etag: str | None) -> FeedAnswer:
        check_address(url, self._allow_loopback)
        if self._credentials is None:
            raise FeedUnavailable("the calendar's password is missing; connect it again")
        from caldav.davclient import DAVClient
        from caldav.elements import dav

        username, password = self._credentials
        try:
            with DAVClient(
                url=url,
                username=username,
                password=password,
                timeout=int(max(1, self._timeout)),
                require_tls=not self._allow_loopback,
                enable_rfc6764=False,
            ) as client:
                calendar = client.calendar(url=url)  # type: ignore[no-untyped-call]
                token = calendar.get_property(dav.SyncToken())
                if token and token == etag:
                    return FeedAnswer(not_modified=True)
                found = calendar.search(start=self._window[0], end=self._window[1], event=True, expand=False)
                return FeedAnswer(body=self._joined([str(item.data) for item in found]), etag=token or None)
        except FeedUnavailable:
            raise
        except Exception as exc:
            raise FeedUnavailable(_caldav_error(exc)) from exc

    def _joined(self, bodies: list[str]) -> bytes:
        """One VCALENDAR holding every event and time zone the server sent, within the size cap."""
        from icalendar import Calendar

        total = sum(len(b) for b in bodies)
        if total > self._max_bytes:
            raise FeedUnavailable(f"the calendar is larger than {self._max_bytes // (1024 * 1024)} MB")
        joined = Calendar()
        joined.add("prodid", "-//clinic-booking//calendar sync//EN")
        joined.add("version", "2.0")
        seen_zones: set[str] = set()
        for body in bodies:
            for component in Calendar.from_ical(body).subcomponents:
                if component.name == "VTIMEZONE":
                    if str(component.get("TZID")) in seen_zones:
                        continue
                    seen_zones.add(str(component.get("TZID")))
                joined.add_component(component)
        return bytes(joined.to_ical())


def _caldav_error(exc: Exception) -> str:
    """A CalDAV failure in plain words (never the credentials or the server's body)."""
    name = type(exc).__name__
    text = str(exc)
    if getattr(exc, "status", None) == 403 or " 403" in text or "Forbidden" in text:
        return "the calendar server refused access (403): this account may not use this calendar"
    if name == "AuthorizationError" or " 401" in text or "Unauthorized" in text:
        return "the calendar server refused our credentials (401): the app password may have been revoked"
    if name == "NotFoundError" or " 404" in text:
        return "the calendar server answered 404: the calendar address is wrong or the calendar was deleted"
    if "timed out" in text.lower() or "Timeout" in name:
        return "the calendar server did not answer in time"
    if "refused" in text.lower() or "ConnectionError" in name:
        return "the calendar server is down (connection refused)"
    return f"the calendar server's answer could not be read ({name})"


def check_address(url: str, allow_loopback: bool) -> str:
    """Resolves the URL's host: the first address, or FeedUnavailable when any address is refused."""
    parts = urlsplit(feed_url(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedUnavailable("the address must be an https:// or webcal:// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FeedUnavailable("the host name does not resolve") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        problem = refused_address(address, allow_loopback)
        if problem:
            raise FeedUnavailable(f"refused: the address {problem}")
    if parts.scheme == "http" and not allow_loopback:
        raise FeedUnavailable("refused: the address must be https")
    return addresses[0]


class CalDavVisitWriter:
    """Writes our visits into a CalDAV calendar (`services.calendar_visits.VisitWriter`): one PUT per visit
    at `<uid>.ics` (the UID is the appointment's: a second PUT replaces it, never duplicates it), a DELETE for a
    cancelled one (already gone counts as done). The host is checked as for feeds."""

    def __init__(self, allow_loopback: bool, timeout: float = TIMEOUT_SECONDS) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout

    def _calendar(self, url: str, credentials: tuple[str, str] | None) -> Any:
        check_address(url, self._allow_loopback)
        if credentials is None:
            raise FeedUnavailable("the calendar's password is missing; connect it again")
        from caldav.davclient import DAVClient

        client = DAVClient(
            url=url,
            username=credentials[0],
            password=credentials[1],
            timeout=int(max(1, self._timeout)),
            require_tls=not self._allow_loopback,
            enable_rfc6764=False,
        )
        return client.calendar(url=url)  # type: ignore[no-untyped-call]

    def put(self, url: str, credentials: tuple[str, str] | None, uid: str, ics: bytes) -> None:
        try:
            calendar = self._calendar(url, credentials)
            calendar.save_event(ics.decode(), id=uid)
        except FeedUnavailable:
            raise
        except Exception as exc:
            raise FeedUnavailable(_caldav_error(exc)) from exc

    def delete(self, url: str, credentials: tuple[str, str] | None, uid: str) -> None:
        try:
            calendar = self._calendar(url, credentials)
            try:
                found = calendar.event_by_uid(uid)
            except Exception as exc:
                if type(exc).__name__ == "NotFoundError":
                    return
                raise
            found.delete()
        except FeedUnavailable:
            raise
        except Exception as exc:
            raise FeedUnavailable(_caldav_error(exc)) from exc


class CalendarFetchers:
    """Picks the fetcher for a connection (`services.calendar_connections.Fetchers`)."""

    def __init__(self, allow_loopback: bool, timeout: float = TIMEOUT_SECONDS) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout

    def for_connection(
        self, connection: Connection, credentials: tuple[str, str] | None, window: tuple[datetime, datetime]
    ) -> FeedFetcher:
        if connection.kind is Kind.CALDAV:
            return CalDavFetcher(credentials, window, self._allow_loopback, self._timeout)
        return HttpFeedFetcher(self._allow_loopback, self._timeout)

    def check_address(self, url: str) -> None:
        check_address(url, self._allow_loopback)

    def visit_writer(self) -> CalDavVisitWriter:
        return CalDavVisitWriter(self._allow_loopback, self._timeout)
