"""Cognito user-pool groups: the post-confirmation trigger's one write (AdminAddUserToGroup)."""

from __future__ import annotations

from typing import Any


class CognitoGroups:
    def __init__(self, region: str, client: Any | None = None) -> None:
        self._region = region
        self._client = client

    def add_to_group(self, pool_id: str, username: str, group: str) -> None:
        if self._client is None:
            from chalicelib.adapters import aws

            self._client = aws.client("cognito-idp", self._region)
        self._client.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
