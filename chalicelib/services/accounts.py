"""Sign-up: a patient who confirms their account lands in the `patients` group (Cognito post-confirmation)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.accounts import group_on_confirmation


class GroupDirectory(Protocol):
    def add_to_group(self, pool_id: str, username: str, group: str) -> None: ...


class AccountService:
    def __init__(self, groups: GroupDirectory) -> None:
        self._groups = groups

    def confirmed(self, pool_id: str, username: str, trigger_source: str) -> str | None:
        """Returns the group the user joined, if any; a failure raises, so Cognito reports the confirmation failed
        and the user can retry instead of holding an account with no role."""
        group = group_on_confirmation(trigger_source)
        if group is not None:
            self._groups.add_to_group(pool_id, username, group)
        return group
