"""Patients of a test's own: each e2e test books as somebody nobody else books as, so no other test's visits
count against the per-patient limits (10 active bookings, one per doctor and day) whatever order tests run in."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from infra.local.tokens import unsigned_token


class Patient(NamedTuple):
    sub: str
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": self.token, "Content-Type": "application/json"}


def new_patient(name: str = "Pat Example", *, email: str | None = None, phone: str | None = "+16175550123") -> Patient:
    """A signed-up patient with a verified e-mail (and phone, unless `phone` is None) that only this test uses."""
    sub = f"e2e-{uuid.uuid4().hex[:12]}"
    claims: dict[str, object] = {"sub": sub, "cognito:username": sub, "cognito:groups": ["patients"], "name": name}
    claims |= {"email": email or f"{sub}@example.org", "email_verified": True}
    if phone:
        claims |= {"phone_number": phone, "phone_number_verified": True}
    return Patient(sub, unsigned_token(claims), name)
