"""Fetching a doctor's calendar feed: one conditional GET (If-None-Match), connected to an address checked
after DNS resolution (private, loopback unless allowed, link-local and metadata ranges refused, as for
webhooks), redirects followed only to addresses that pass the same check, the body read up to the size cap,
and the whole attempt bounded in time. Errors come back in plain words; no credential or body is logged."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urljoin, urlsplit

from chalicelib.adapters.webhooks import _PinnedConnection
from chalicelib.domain.busy import MAX_FEED_BYTES
from chalicelib.domain.webhooks import refused_address
from chalicelib.services.busy_sync import FeedAnswer, FeedUnavailable

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

    def _address(self, host: str, port: int, scheme: str) -> str:
        try:
            infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FeedUnavailable("the feed's host name does not resolve") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            problem = refused_address(address, self._allow_loopback)
            if problem:
                raise FeedUnavailable(f"refused: the feed address {problem}")
        if scheme == "http" and not self._allow_loopback:
            raise FeedUnavailable("refused: the feed address must be https")
        return addresses[0]

    def _get(self, url: str, etag: str | None) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FeedUnavailable("the feed address must be an https:// or webcal:// URL")
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address = self._address(parts.hostname, port, parts.scheme)
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
