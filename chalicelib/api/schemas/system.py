"""Health, the web app's configuration and its sign-in modes.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Literal

from pydantic import Field

from chalicelib.api.schemas.common import OutModel, absent


class HealthOut(OutModel):
    status: Literal["ok"]
    version: str = Field(description='The release serving the request (`git describe` at packaging; "dev" unpackaged).')


class DevUserOut(OutModel):
    label: str
    token: str


class SignInOut(OutModel):
    """`none`; `development` (make run: the demo patients' unsigned tokens); `cognito` (the Hosted UI, PKCE)."""

    mode: Literal["none", "development", "cognito"]
    users: list[DevUserOut] | None = Field(default=None, exclude_if=absent)
    domain: str | None = Field(default=None, exclude_if=absent)
    client_id: str | None = Field(default=None, exclude_if=absent)
    scopes: list[str] | None = Field(default=None, exclude_if=absent)


class WebConfigOut(OutModel):
    """Where the patient web app runs; a deployment that serves the page from S3 writes the same shape."""

    api_base: str
    change_window_minutes: int
    sign_in: SignInOut
    websocket_url: str | None = Field(
        default=None, exclude_if=absent, description="The slot-updates WebSocket (deployed stacks)"
    )
