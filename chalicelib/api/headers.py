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


JSON_SECURITY_HEADERS = {
    "Content-Security-Policy": API_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": HSTS,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""What every answer that is not a page carries: the app's own, and the local gateway's (infra/local/api_server.py)."""


def security_headers(event: Any, get_response: Any) -> Response:
    response: Response = get_response(event)
    headers = response.headers
    content_type = str(headers.get("Content-Type") or headers.get("content-type") or "")
    is_page = content_type.startswith("text/html") and isinstance(response.body, str)
    if is_page:
        headers.setdefault("Content-Security-Policy", page_policy(response.body))
    for name, value in JSON_SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    return response
