"""Video platform calls open web URLs only: a misconfigured base such as `file:///` is refused before any I/O."""

from __future__ import annotations

import pytest

from chalicelib.adapters.video import PlatformHttp, require_web_url
from chalicelib.domain.telehealth import PlatformError


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://zoom.example/oauth/token",
        "http://api.zoom.us/v2/users/me/meetings",
        "https:///no-host",
        "zoom.us/oauth/token",
    ],
)
def test_a_platform_url_that_is_not_https_is_refused_before_it_is_opened(url):
    # GIVEN a platform client  WHEN it is asked to call a URL that is not https to a host
    client = PlatformHttp(sleep=lambda _: None, attempts=1)
    # THEN it refuses with a PlatformError (a `file:` URL would otherwise be read and fail as JSON)
    with pytest.raises(PlatformError, match="non-https"):
        client.call("GET", url, {})


@pytest.mark.parametrize(
    "url", ["https://api.zoom.us/v2/users/me/meetings", "http://127.0.0.1:8123/oauth/token", "http://localhost:9/x"]
)
def test_https_and_the_local_fakes_are_admitted(url):
    # GIVEN an https platform URL or a fake platform on this machine  WHEN checked  THEN it passes
    require_web_url(url)
