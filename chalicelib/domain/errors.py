"""Domain errors. The API layer maps each class to one HTTP status and error code (see api/errors.py)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause; carries a message for a person and optional details."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """The request is malformed; details name the offending fields."""


class PayloadTooLarge(DomainError):
    """The request body is larger than the API accepts."""


class RateLimited(DomainError):
    """Too many requests from this caller; `retry_after` seconds until it may try again."""

    def __init__(self, message: str, retry_after: int = 1, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class Unauthenticated(DomainError):
    """No identity came with a request to a protected route."""


class Forbidden(DomainError):
    """The caller's role or ownership does not allow this."""


class NotYourPatient(Forbidden):
    """A doctor booking for a patient it has no visit with; an unknown patient id gets the very same answer."""

    def __init__(self, patient_id: str) -> None:
        super().__init__(
            "Doctors book only for patients who have or had a visit with them; the front desk books others."
        )
        self.patient_id = patient_id


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""


class SlotUnavailable(DomainError):
    """Another active appointment of the doctor overlaps the requested time."""


class Conflict(DomainError):
    """The request conflicts with the current state (patient overlap, idempotency key reuse)."""


class InvalidState(DomainError):
    """The status transition is not allowed from the appointment's current status."""


class BusinessRuleViolation(DomainError):
    """A well-formed request that a business rule refuses; `code` names the rule."""

    code = "BUSINESS_RULE"


class OutsideWorkingHours(BusinessRuleViolation):
    code = "OUTSIDE_WORKING_HOURS"


class AmbiguousLocalTime(BusinessRuleViolation):
    """A local time of a fall-back fold that names two offered instants; the client picks one by `startsAt`."""

    code = "AMBIGUOUS_LOCAL_TIME"


class NotAnOfferedTime(BusinessRuleViolation):
    """A time inside working hours that the day does not offer (09:10 where visits start every 30 minutes)."""

    code = "NOT_AN_OFFERED_TIME"


class InThePast(BusinessRuleViolation):
    code = "IN_THE_PAST"


class TooShortNotice(BusinessRuleViolation):
    code = "TOO_SHORT_NOTICE"


class DailyLimitReached(BusinessRuleViolation):
    code = "DAILY_LIMIT_REACHED"


class TooLateToChange(BusinessRuleViolation):
    code = "TOO_LATE_TO_CHANGE"


class NotStartedYet(BusinessRuleViolation):
    code = "NOT_STARTED_YET"


class TelehealthNotOffered(BusinessRuleViolation):
    code = "TELEHEALTH_NOT_OFFERED"


class BookingLimitReached(BusinessRuleViolation):
    """Anti-hoarding: too many active future bookings, or a second one with the same doctor that day."""

    code = "BOOKING_LIMIT_REACHED"


class OutsideBookingWindow(BusinessRuleViolation):
    """Beyond the doctor's booking horizon."""

    code = "OUTSIDE_BOOKING_WINDOW"


class DurationNotOffered(BusinessRuleViolation):
    """A patient choosing a visit length the doctor does not offer (staff may book other lengths)."""

    code = "DURATION_NOT_OFFERED"


class ChangeTooLarge(BusinessRuleViolation):
    """A change whose items (locks, counters, limits, audit) do not fit one transaction: refused, never split
    from its guards."""

    code = "CHANGE_TOO_LARGE"


class NoRecipient(BusinessRuleViolation):
    code = "NO_RECIPIENT"


class PushNotConfigured(BusinessRuleViolation):
    code = "PUSH_NOT_CONFIGURED"


class ServiceBusy(DomainError):
    """The store stayed contended or throttled after retries; nothing was written, the client may retry."""


def appointment_changed() -> InvalidState:
    """A write conditioned on the version and status it read found another writer's change."""
    return InvalidState("The appointment was changed by someone else; reload it and try again.")


def slot_taken() -> SlotUnavailable:
    return SlotUnavailable("This time is no longer available.")


def patient_busy() -> Conflict:
    return Conflict("The patient already has an appointment at this time.")


def day_full() -> DailyLimitReached:
    return DailyLimitReached("The doctor's daily limit is reached.")


def patient_day_taken() -> BookingLimitReached:
    return BookingLimitReached("The patient already has an appointment with this doctor that day.")


def schedule_raced(failed: list[str] | None = None) -> InvalidState:
    """A condition no rule names failed: the day changed between reading and writing."""
    return InvalidState("The schedule changed while saving; reload and try again.", {"failed": failed or []})


def too_many_active(limit: int) -> BookingLimitReached:
    message = f"This patient already holds {limit} active bookings, the most allowed."
    return BookingLimitReached(message, {"limit": limit})


def change_too_large(items: int, limit: int) -> ChangeTooLarge:
    return ChangeTooLarge(
        "This change is too large to make in one step; nothing was changed. Book a shorter visit, or split it.",
        {"items": items, "limit": limit},
    )


def audit_entry_exists() -> Conflict:
    """Audit entries are written once: a write under the key of an existing entry is refused, never applied."""
    return Conflict("An audit entry with this key exists already; audit entries are never overwritten.")


def reminder_exists(reminder_id: str) -> InvalidState:
    """Reminder ids name the channel and timing: a second one for both is refused."""
    return InvalidState("A reminder for this channel and timing exists already.", {"reminderId": reminder_id})
