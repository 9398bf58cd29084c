"""Who joins which Cognito group by themselves: only a patient confirming their own sign-up, into `patients`."""

from __future__ import annotations

PATIENTS_GROUP = "patients"
CONFIRMED_SIGN_UP = "PostConfirmation_ConfirmSignUp"


def group_on_confirmation(trigger_source: str) -> str | None:
    """A confirmed self sign-up joins `patients`; a confirmed password reset (same trigger) changes nothing.

    Staff are never made here: they live in the staff pool, created by admins, and that pool has no trigger.
    """
    return PATIENTS_GROUP if trigger_source == CONFIRMED_SIGN_UP else None
