"""Only a patient confirming their own sign-up joins a group by themselves, and only `patients`."""

from __future__ import annotations

import pytest

from chalicelib.domain.accounts import PATIENTS_GROUP, group_on_confirmation
from chalicelib.services.accounts import AccountService


class RecordingGroups:
    def __init__(self) -> None:
        self.added: list[tuple[str, str, str]] = []

    def add_to_group(self, pool_id: str, username: str, group: str) -> None:
        self.added.append((pool_id, username, group))


def test_a_confirmed_sign_up_joins_patients():
    # GIVEN Cognito's post-confirmation trigger for a sign-up  WHEN it runs  THEN the user joins `patients`
    groups = RecordingGroups()
    assert AccountService(groups).confirmed("pool-1", "user-1", "PostConfirmation_ConfirmSignUp") == PATIENTS_GROUP
    assert groups.added == [("pool-1", "user-1", "patients")]


@pytest.mark.parametrize("source", ["PostConfirmation_ConfirmForgotPassword", "", "PostConfirmation_AdminCreateUser"])
def test_any_other_confirmation_changes_no_group(source):
    # GIVEN a password-reset confirmation or anything else  WHEN the trigger runs  THEN no group is touched
    groups = RecordingGroups()
    assert AccountService(groups).confirmed("pool-1", "user-1", source) is None
    assert groups.added == []
    assert group_on_confirmation(source) is None
