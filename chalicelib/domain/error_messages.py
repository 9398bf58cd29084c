"""What a patient reads when the API refuses a request, in its language, one sentence per error code.

English answers keep each error's own, more detailed message; another language answers the code's sentence
from its catalogue (the `code` itself never changes, so clients still branch on it)."""

from __future__ import annotations

from chalicelib.domain.language import DEFAULT, mark, supported, t

PATIENT_MESSAGES: dict[str, str] = {
    "VALIDATION_ERROR": mark("Some of the details are not right. Please check them and try again."),
    "UNAUTHENTICATED": mark("Please sign in again."),
    "FORBIDDEN": mark("You cannot do that with your account."),
    "NOT_FOUND": mark("We could not find that."),
    "METHOD_NOT_ALLOWED": mark("That cannot be done here."),
    "UNSUPPORTED_MEDIA_TYPE": mark("That request was not in a form we accept."),
    "SLOT_UNAVAILABLE": mark("Sorry, that time was just taken. Please choose another."),
    "CONFLICT": mark("That changed in the meantime. Please reload and try again."),
    "INVALID_STATE": mark("That cannot be done with this appointment any more."),
    "PAYLOAD_TOO_LARGE": mark("That request is too large."),
    "RATE_LIMITED": mark("Too many tries. Please wait a moment and try again."),
    "SERVICE_UNAVAILABLE": mark("We are having trouble right now. Please try again in a moment."),
    "INTERNAL_ERROR": mark("Something went wrong on our side."),
    "BUSINESS_RULE": mark("That cannot be booked."),
    "OUTSIDE_WORKING_HOURS": mark("The doctor does not see patients at that time. Please choose another time."),
    "AMBIGUOUS_LOCAL_TIME": mark("That time happens twice because the clocks change. Please choose it from the list."),
    "NOT_AN_OFFERED_TIME": mark("That time is not offered. Please choose one from the list."),
    "IN_THE_PAST": mark("That time has already passed."),
    "TOO_SHORT_NOTICE": mark("That is too soon to book. Please choose a later time."),
    "DAILY_LIMIT_REACHED": mark("The doctor's day is full. Please choose another day."),
    "TOO_LATE_TO_CHANGE": mark("It is too late to change this appointment online. Please call the clinic."),
    "NOT_STARTED_YET": mark("This visit has not started yet."),
    "TELEHEALTH_NOT_OFFERED": mark("This doctor does not offer video visits."),
    "BOOKING_LIMIT_REACHED": mark("You already have as many upcoming appointments as you can book."),
    "OUTSIDE_BOOKING_WINDOW": mark("That date is too far ahead to book yet."),
    "DURATION_NOT_OFFERED": mark("The doctor does not offer visits of that length."),
    "CHANGE_TOO_LARGE": mark("That change is too large."),
    "NO_RECIPIENT": mark("We have no confirmed e-mail or phone number for those reminders."),
    "PUSH_NOT_CONFIGURED": mark("Notifications on this device are not available."),
}
"""Every code a patient can get: a test checks that every error class's code is here and in every catalogue."""


def patient_message(code: str, message: str, language: str) -> str:
    """The message a patient reads: the error's own in English, the code's sentence in another language (the
    error's own when no sentence exists for the code)."""
    language = supported(language) or DEFAULT
    if language == DEFAULT or code not in PATIENT_MESSAGES:
        return message
    return t(language, PATIENT_MESSAGES[code])
