"""Security headers on every HTTP response: the API's JSON and the pages alike.

Pages get a Content-Security-Policy that allows only their own inline scripts, by hash (computed from the
page served, so a page edit keeps working without an edit here); JSON gets a policy that allows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import Any

from chalice import Response

HSTS = "max-age=63072000; includeSubDomains"
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


@lru_cache(maxsize=32)
def page_policy(html: str) -> str:
    """Scripts: our origin and the exact inline scripts of this page; no plugins, no framing, no base tags."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}".rstrip()
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        # the web app's Hosted UI sign-in exchanges its code at <domain>.auth.<region>.amazoncognito.com
        "connect-src 'self' ws: wss: https://*.amazoncognito.com; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def security_headers(event: Any, get_response: Any) -> Response:
    response: Response = get_response(event)
    headers = response.headers
    content_type = str(headers.get("Content-Type") or headers.get("content-type") or "")
    is_page = content_type.startswith("text/html") and isinstance(response.body, str)
    headers.setdefault("Content-Security-Policy", page_policy(response.body) if is_page else API_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Strict-Transport-Security", HSTS)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    return response
