"""Reminders: plans (one per channel and timing), statuses, and the messages each channel carries.

Messages name the doctor, the local time with its zone, and the place or the secure link; never the reason for
the visit or any other health detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import Appointment, AppointmentType
from chalicelib.domain.errors import Conflict, InvalidInput, InvalidState
from chalicelib.domain.language import DEFAULT as DEFAULT_LANGUAGE
from chalicelib.domain.language import day_and_time, supported, t


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReminderKind(StrEnum):
    REMINDER = "reminder"
    """An ordinary reminder at a timing (or instant) of the patient's or staff's choice."""
    VIDEO_LINK = "video-link"
    """A telehealth visit's reminder with the secure link, LINK_TIMING before the start."""


TIMINGS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "2h": timedelta(hours=2),
    "30m": timedelta(minutes=30),
    "15m": timedelta(minutes=15),
    "10m": timedelta(minutes=10),
}
LINK_TIMING = "10m"
"""Telehealth visits: ten minutes before, the patient gets the secure link itself."""
DEFAULT_TIMING = "24h"
OUTCOME_UNKNOWN = "delivery outcome unknown"
"""The start of `lastError` when the provider may have accepted the message: staff confirm before a resend."""
MAX_ATTEMPTS = 5
"""Sends a reminder gets (each claim counts one) before a throttled one is failed instead of retried."""
RESEND_AFTER = timedelta(minutes=1)
"""A failed reminder an admin retries is due again this long after the retry."""
SMS_SEGMENT = 160
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The start of every reminder range read from the beginning (overdue, stuck, admin lists without a start)."""


@dataclass(frozen=True)
class Recipient:
    email: str | None = None
    phone: str | None = None
    push_endpoints: tuple[str, ...] = ()
    language: str = DEFAULT_LANGUAGE
    """The patient's language: what its reminders are written in."""

    def address(self, channel: Channel) -> str | None:
        if channel is Channel.EMAIL:
            return self.email
        if channel is Channel.SMS:
            return self.phone
        return ",".join(self.push_endpoints) or None


@dataclass(frozen=True)
class Reminder:
    id: str
    appointment_id: str
    patient_id: str
    channel: Channel
    timing: str | None
    scheduled_time: datetime
    status: ReminderStatus
    message: str
    created_at: datetime
    updated_at: datetime
    for_start: datetime
    """The appointment start this reminder was planned for: if the appointment moved since, it is stale."""
    recipient_email: str | None = None
    recipient_phone: str | None = None
    custom_message: str | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    served: tuple[str, ...] = ()
    """Push endpoints already given this reminder (or whose outcome is unknown): a retry skips them."""
    unknown_devices: tuple[str, ...] = ()
    """Those of `served` whose outcome is unknown (answer lost, a 5xx): only a confirmed resend goes to them."""
    schedule_missing: bool = False
    """Creating its schedule failed: the sweep re-creates it (and only such schedules)."""
    for_version: int | None = None
    """The appointment version this plan follows: a follow-up of an older version never overwrites it."""
    language: str = DEFAULT_LANGUAGE
    """The patient's language when it was planned: its message (and e-mail, push title, .ics) are in it."""

    @property
    def outcome_unknown(self) -> bool:
        return self.status is ReminderStatus.FAILED and (self.last_error or "").startswith(OUTCOME_UNKNOWN)

    @property
    def kind(self) -> ReminderKind:
        """The video-link reminder of a telehealth visit carries the link itself: a kind of its own, labelled
        so by the front ends, never turned into an ordinary reminder (its timing cannot be changed)."""
        return ReminderKind.VIDEO_LINK if self.timing == LINK_TIMING else ReminderKind.REMINDER

    @property
    def schedule_name(self) -> str:
        """EventBridge Scheduler names allow [0-9a-zA-Z-_.]{1,64}; ids here are at most 55 characters."""
        return f"r-{self.id}"[:64]


@dataclass(frozen=True)
class Skipped:
    channel: Channel
    timing: str
    reason: str


def reminder_id(appointment_id: str, channel: Channel, timing: str) -> str:
    """Deterministic, so a retried request creates nothing twice; the appointment id is recoverable."""
    return f"{appointment_id}_{channel.value}-{timing}"


def appointment_of(reminder_id_: str) -> str:
    return reminder_id_.rsplit("_", 1)[0]


def custom_timing(at: datetime) -> str:
    return f"at{int(at.timestamp())}"


def send_time(appointment: Appointment, timing: str) -> datetime:
    if timing in TIMINGS:
        return appointment.starts_at - TIMINGS[timing]
    if timing.startswith("at") and timing[2:].isdigit():
        return datetime.fromtimestamp(int(timing[2:]), tz=appointment.starts_at.tzinfo)
    raise ValueError(f"unknown timing {timing}")


def plan(
    appointment: Appointment,
    channels: Sequence[Channel],
    timings: Sequence[str],
    recipient: Recipient,
    custom_message: str | None,
    now: datetime,
) -> tuple[list[Reminder], list[Skipped]]:
    """One reminder per channel and timing; a timing already past is skipped and said so."""
    planned: list[Reminder] = []
    skipped: list[Skipped] = []
    for channel in channels:
        for timing in timings:
            at = send_time(appointment, timing)
            if at <= now:
                skipped.append(Skipped(channel, timing, "already past at booking time"))
                continue
            planned.append(
                Reminder(
                    id=reminder_id(appointment.id, channel, timing),
                    appointment_id=appointment.id,
                    patient_id=appointment.patient_id,
                    channel=channel,
                    timing=timing,
                    scheduled_time=at,
                    status=ReminderStatus.PENDING,
                    message=render(
                        channel, appointment, custom_message, timing == LINK_TIMING, recipient.language
                    ).text,
                    created_at=now,
                    updated_at=now,
                    for_start=appointment.starts_at,
                    recipient_email=recipient.email if channel is Channel.EMAIL else None,
                    recipient_phone=recipient.phone if channel is Channel.SMS else None,
                    custom_message=custom_message,
                    language=recipient.language,
                )
            )
    return planned, skipped


def timings_for(requested: Sequence[str] | None, timing: str | None = None, video_link: bool = False) -> list[str]:
    """The timings a visit's reminders get: those requested, else the single `timing`, else DEFAULT_TIMING; a
    video visit whose room gives it a link also gets the link reminder (LINK_TIMING), once."""
    timings = list(requested) if requested else [timing or DEFAULT_TIMING]
    if video_link and LINK_TIMING not in timings:
        timings.append(LINK_TIMING)
    return timings


@dataclass(frozen=True)
class ReminderRequest:
    """The reminders to plan for a visit: on these channels, at these timings, with staff's optional message."""

    channels: Sequence[Channel]
    timings: Sequence[str]
    custom_message: str | None = None
    request_language: str | None = None
    """The language of the request that books (its `Accept-Language`): the reminders' language while the patient
    has saved none, and only when the patient books for itself (staff's browsers say nothing of the patient)."""


@dataclass(frozen=True)
class ReminderPreferences:
    """What a booking asked for its reminders, as the appointment keeps it (and shows it back): the channels, the
    timings (a list, or the single `timing`), staff's message."""

    channels: tuple[Channel, ...] = ()
    timings: tuple[str, ...] | None = None
    timing: str | None = None
    custom_message: str | None = None

    @classmethod
    def of_stored(cls, stored: Mapping[str, Any]) -> ReminderPreferences:
        """The preferences from the appointment's stored form (the API's `reminderPreferences` object, camelCase:
        `email`, `sms`, `push`, `timing`, `timings`, `customMessage`): the one place its keys are read."""
        timings = stored.get("timings")
        return cls(
            tuple(c for c in Channel if stored.get(c.value)),
            tuple(str(t) for t in timings) if timings else None,
            stored.get("timing"),
            stored.get("customMessage"),
        )

    def stored(self) -> dict[str, Any]:
        """The appointment's stored form (the reverse of `of_stored`): each channel's flag, then the timing or
        timings and the message when given (the order and keys the API has always answered with)."""
        kept: dict[str, Any] = {c.value: c in self.channels for c in Channel}
        if self.timing is not None:
            kept["timing"] = self.timing
        if self.timings is not None:
            kept["timings"] = list(self.timings)
        if self.custom_message is not None:
            kept["customMessage"] = self.custom_message
        return kept

    def request(self, video_link: bool = False, request_language: str | None = None) -> ReminderRequest:
        """The reminders these preferences ask for; `video_link`: the visit has a room, so a link reminder too."""
        timings = timings_for(self.timings, self.timing, video_link)
        return ReminderRequest(self.channels, timings, self.custom_message, request_language)


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When a reminder whose send was throttled or unavailable is tried again: 2, 4, 8, 16 minutes after its
    1st to 4th attempt (backoff); None once it had MAX_ATTEMPTS attempts (it is failed, not retried)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(minutes=2**attempts)


class Claim(StrEnum):
    """What claiming a due reminder together with one of its patient's messages of the day came to."""

    CLAIMED = "claimed"
    """pending -> sending, one more attempt, and one of the patient's messages of the day reserved."""
    NOT_CLAIMED = "not-claimed"
    """Not pending, not due, or changed since the sweep read it: nothing written."""
    CAPPED = "capped"
    """Pending and due, but the patient's messages of the day are all taken: nothing written."""


@dataclass(frozen=True)
class MessageSlot:
    """One of a patient's messages of a UTC day under the daily cap: reserved by the claim (a conditional count,
    refused once `cap` are taken), kept by an attempt that reaches the provider (sent, failed or throttled, as
    the old `take_message` counted), given back by the outcome's write when nothing was sent."""

    patient_id: str
    day: str
    cap: int

    @property
    def open(self) -> bool:
        """False when the cap lets no message through at all (the count's condition assumes one at least)."""
        return self.cap >= 1


def message_slot(patient_id: str, now: datetime, cap: int) -> MessageSlot:
    """The patient's message a send now would take: the cap counts per UTC day."""
    return MessageSlot(patient_id, now.astimezone(UTC).date().isoformat(), cap)


def claimed_from(seen: Reminder, now: datetime) -> Reminder:
    """The reminder as its claim left it, from the image the claim was conditioned on (a sweep's read)."""
    return replace(seen, status=ReminderStatus.SENDING, attempts=seen.attempts + 1, updated_at=now)


def resent(reminder: Reminder, now: datetime) -> Reminder:
    """A failed reminder an admin retries: pending again with fresh attempts, due in RESEND_AFTER. Devices served
    before are skipped; after an unknown outcome (the admin confirmed the resend) the devices whose outcome was
    unknown get it again, those known to have it do not. (A reminder recorded before devices' unknown outcomes
    were kept apart names none: then every device gets it, as the admin confirmed.)"""
    served = reminder.served
    if reminder.outcome_unknown:
        unknown = set(reminder.unknown_devices)
        served = tuple(e for e in reminder.served if e not in unknown) if unknown else ()
    return replace(
        reminder,
        status=ReminderStatus.PENDING,
        attempts=0,
        scheduled_time=now + RESEND_AFTER,
        updated_at=now,
        served=served,
        unknown_devices=(),
    )


NO_ROOM = "the new time leaves no room for this reminder"


def follows_moves(reminder: Reminder) -> bool:
    """Pending reminders move with their appointment; so do those a move cancelled for lack of room (they come
    back when the visit moves out again)."""
    return reminder.status is ReminderStatus.PENDING or (
        reminder.status is ReminderStatus.CANCELLED and reminder.last_error == NO_ROOM
    )


def follow(reminder: Reminder, appointment: Appointment, now: datetime) -> Reminder:
    """A reminder after its appointment moved: same timing against the new start, with a fresh message;
    cancelled if that moment is already past, pending again if a move had cancelled it and there is room."""
    if not follows_moves(reminder):
        return reminder
    at = send_time(appointment, reminder.timing) if reminder.timing in TIMINGS else reminder.scheduled_time
    status = ReminderStatus.PENDING if at > now else ReminderStatus.CANCELLED
    return replace(
        reminder,
        scheduled_time=at,
        status=status,
        message=render(
            reminder.channel, appointment, reminder.custom_message, reminder.timing == LINK_TIMING, reminder.language
        ).text,
        updated_at=now,
        for_start=appointment.starts_at,
        for_version=appointment.version,
        served=(),  # devices served a message for the old time get the new one
        unknown_devices=(),
        last_error=None if status is ReminderStatus.PENDING else NO_ROOM,
    )


def matches_appointment(reminder: Reminder, appointment: Appointment) -> bool:
    """True when the reminder was planned for the appointment's current time (a retry may send it later)."""
    return reminder.for_start == appointment.starts_at and reminder.scheduled_time < appointment.ends_at


def check_editable(reminder: Reminder) -> None:
    if reminder.status is not ReminderStatus.PENDING:
        raise InvalidState(
            f"Only pending reminders can be changed; this one is {reminder.status.value}.",
            {"status": reminder.status.value},
        )


def edited(
    reminder: Reminder,
    appointment: Appointment,
    now: datetime,
    timing: str | None = None,
    scheduled_time: datetime | None = None,
    custom_message: str | None = None,
    others: Sequence[Reminder] = (),
) -> Reminder:
    """A pending reminder moved to another timing (or else to an instant) and/or given another message (an empty
    one removes it). Wherever it lands must be in the future and before the appointment, and not where another
    reminder of the same channel already is (`others`: the appointment's reminders); its text is rewritten. The
    video-link reminder keeps its moment (the link is for the visit's start): only its message can change."""
    check_editable(reminder)
    if reminder.kind is ReminderKind.VIDEO_LINK and (timing is not None or scheduled_time is not None):
        raise InvalidState(
            "The video-link reminder goes out 10 minutes before the visit; it can be cancelled, not moved.",
            {"kind": reminder.kind.value},
        )
    changed = reminder
    if timing is not None:
        changed = replace(changed, timing=timing, scheduled_time=appointment.starts_at - TIMINGS[timing])
    elif scheduled_time is not None:
        changed = replace(changed, timing=custom_timing(scheduled_time), scheduled_time=scheduled_time)
    if changed.scheduled_time <= now or changed.scheduled_time >= appointment.starts_at:
        raise InvalidInput(
            "A reminder must be sent in the future and before the appointment.",
            {"fields": {"timing" if timing else "scheduledTime": "not between now and the appointment"}},
        )
    check_not_duplicate(changed, appointment, others)
    if custom_message is not None:
        changed = replace(changed, custom_message=custom_message or None)
    message = render(
        changed.channel,
        appointment,
        changed.custom_message,
        changed.kind is ReminderKind.VIDEO_LINK,
        changed.language,
    )
    return replace(changed, message=message.text, updated_at=now)


def _holds_its_place(reminder: Reminder, appointment: Appointment) -> bool:
    """A reminder that counts as there: to be sent, or sent (or failed) for the visit's current time."""
    if reminder.status in (ReminderStatus.PENDING, ReminderStatus.SENDING):
        return True
    return reminder.status is not ReminderStatus.CANCELLED and reminder.for_start == appointment.starts_at


def check_not_duplicate(reminder: Reminder, appointment: Appointment, others: Sequence[Reminder]) -> None:
    """Refuse (Conflict) a reminder that would be a second one of its kind on its channel at the same timing or
    the same moment: the patient would get the same message twice."""
    for other in others:
        if other.id == reminder.id or other.channel is not reminder.channel or other.kind is not reminder.kind:
            continue
        if not _holds_its_place(other, appointment):
            continue
        if other.timing == reminder.timing or other.scheduled_time == reminder.scheduled_time:
            raise Conflict(
                f"There is already a {reminder.channel.value} reminder at that time for this appointment.",
                {"reminderId": other.id, "channel": reminder.channel.value, "timing": reminder.timing},
            )


# --- messages -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    language: str = DEFAULT_LANGUAGE


def _doctor(name: str) -> str:
    return name if name.lower().startswith(("dr ", "dr.")) else f"Dr. {name}"


def _when(appointment: Appointment, short: bool, language: str) -> tuple[str, str]:
    """The visit's day and time in the doctor's zone, the zone named, as the language writes them."""
    return day_and_time(appointment.starts_at.astimezone(ZoneInfo(appointment.timezone)), language, short)


def render(
    channel: Channel,
    appointment: Appointment,
    custom_message: str | None = None,
    with_link: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> Message:
    """The message in the patient's language, in the doctor's zone with the zone named; an SMS kept to one
    segment where possible (`sms_segments`), in the SMS alphabet where the language allows (`sms_text`)."""
    doctor = _doctor(appointment.doctor_name)
    short = channel is not Channel.EMAIL
    day, clock = _when(appointment, short, language)
    lead = t(
        language,
        "Reminder: Your appointment with %(doctor)s is scheduled for %(day)s at %(clock)s.",
        doctor=doctor,
        day=day,
        clock=clock,
    )
    if appointment.type is AppointmentType.TELEHEALTH:
        detail = t(
            language,
            "This is a video visit: join with the secure link in your appointment, from 15 minutes before.",
        )
        if channel is Channel.SMS:
            detail = t(language, "Video visit: use the secure link in your app.")
        if with_link and appointment.telehealth_url:
            detail = t(language, "Your video visit starts soon. Join securely: %(url)s", url=appointment.telehealth_url)
    else:
        detail = t(language, "Please arrive 10 minutes early. Location: %(location)s", location=appointment.location)
    parts = [lead, detail]
    if custom_message:
        parts.append(custom_message)
    text = " ".join(parts)
    if channel is Channel.SMS:
        text = sms_text(text)
        if sms_segments(text) > 1:
            compact = t(language, "Reminder: %(doctor)s, %(day)s at %(clock)s.", doctor=doctor, day=day, clock=clock)
            text = _fit_sms(sms_text(compact), sms_text(detail), custom_message)
    subject = t(language, "Appointment reminder: %(doctor)s, %(day)s at %(clock)s", doctor=doctor, day=day, clock=clock)
    html = "".join(f"<p>{_escape(p)}</p>" for p in parts)
    lang = supported(language) or DEFAULT_LANGUAGE
    return Message(subject=subject, text=text, html=f'<html lang="{lang}"><body>{html}</body></html>', language=lang)


def push_title(language: str) -> str:
    return t(language, "Appointment reminder")


def _fit_sms(compact: str, detail: str, custom: str | None) -> str:
    """Shorter wording first; the custom message is kept whole, since the clinic wrote it for the patient."""
    text = " ".join(p for p in (compact, detail, custom) if p)
    if sms_segments(text) <= 1:
        return text
    room = SMS_SEGMENT - sms_length(compact) - (sms_length(custom) + 1 if custom else 0) - 1
    if room > 20:
        if sms_length(detail) > room:
            cut = room - 3
            while cut > 0 and sms_length(detail[:cut].rstrip() + "...") > room:
                cut -= 1
            detail = detail[:cut].rstrip() + "..."
        return " ".join(p for p in (compact, detail, custom) if p)
    return " ".join(p for p in (compact, custom) if p)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# --- SMS segments ------------------------------------------------------------------------------------------------
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""3GPP TS 23.038's default alphabet: one septet each. Spanish keeps é ñ ü ¿ ¡ É Ñ Ü in it, not á í ó ú."""
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Characters reached through the escape (two septets each)."""
SMS_SEGMENT_UCS2 = 70
SMS_PART_GSM7 = 153
SMS_PART_UCS2 = 67
"""A concatenated SMS spends part of each segment on its header: 153 septets or 67 UCS-2 characters a part."""
_SMS_FALLBACK = str.maketrans("áíóúÁÍÓÚêâôûîÂÊÎÔÛ\u2019\u2018\u201c\u201d\u2013\u2014…", "aiouAIOUeaouiAEIOU''\"\"--.")
"""What carriers' "smart encoding" does: a letter outside the SMS alphabet that has a plain one (á -> a) is
written plainly, so one accent does not make the whole SMS UCS-2 (70 characters a segment instead of 160)."""


def sms_text(text: str) -> str:
    """The text as sent by SMS: accented letters outside GSM-7 written plainly where that keeps it GSM-7."""
    plain = text.translate(_SMS_FALLBACK)
    return plain if is_gsm7(plain) else text


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def sms_length(text: str) -> int:
    """Septets in GSM-7 (extension characters count two), else UTF-16 code units (UCS-2)."""
    if is_gsm7(text):
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS segments (each billed as one message) the text takes: GSM-7 160 alone or 153 a part, UCS-2
    70 alone or 67 a part."""
    length = sms_length(text)
    single, part = (SMS_SEGMENT, SMS_PART_GSM7) if is_gsm7(text) else (SMS_SEGMENT_UCS2, SMS_PART_UCS2)
    if length <= single:
        return 1
    return -(-length // part)
