"""Request and response models, one module per resource; the same models validate requests and generate the
OpenAPI document. This package names the models most routes share, for handlers that write `schemas as s` and
`s.AppointmentOut`; the waitlist's and a doctor's own calendars' are imported from their modules.

The names load lazily (PEP 562): `s.AppointmentOut` imports `schemas.appointments` the first time it is asked for,
so `import app` (Lambda's init) builds no model and does not import pydantic; a request loads only its own
resource's models. `_HOME` says which module holds each name; the imports under `TYPE_CHECKING` are the same
names for mypy (a unit test checks that the two agree).

No `from __future__ import annotations` in these modules, unlike the rest of the code: pydantic would then compile
and evaluate each module's annotation strings at import, which was 40% of their import time (Lambda cold start).
So a model refers only to models defined above it or imported, and validators return `Self`."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.api.schemas.analytics import (
        AnalyticsDayOut,
        AnalyticsDoctorOut,
        AnalyticsOut,
        AnalyticsQuery,
        ChannelDeliveryOut,
        LeadTimeOut,
    )
    from chalicelib.api.schemas.appointments import (
        AppointmentList,
        AppointmentListQuery,
        AppointmentOut,
        AuditEntryOut,
        AuditTrail,
        BookingIn,
        RescheduleIn,
        StatusIn,
    )
    from chalicelib.api.schemas.availability import AvailabilityQuery, DayAvailabilityOut, SlotOut
    from chalicelib.api.schemas.calendars import FeedLinkOut, FeedQuery, FeedRevokedOut
    from chalicelib.api.schemas.common import (
        DATE_PATTERN,
        FORBIDDEN_CONTROLS,
        HHMM_PATTERN,
        ID_PATTERN,
        INSTANT_PATTERN,
        MULTILINE_CONTROLS,
        WINDOW_NOTE,
        ApiModel,
        AppointmentTypeName,
        AppointmentTypeOut,
        BulkOutcome,
        ChannelOut,
        Day,
        ErrorBody,
        ErrorOut,
        Hhmm,
        Id,
        Instant,
        LocalDate,
        LongText,
        Minutes,
        OutModel,
        Platform,
        QueryModel,
        ReminderKindOut,
        ReminderStatusOut,
        ShortText,
        StartsAt,
        StatusName,
        StatusOut,
        Text,
        Timing,
        WallTime,
        Weekday,
        absent,
        strict_date,
    )
    from chalicelib.api.schemas.doctors import (
        AvailabilityIn,
        AvailabilityOut,
        BreakIn,
        BreakOut,
        DoctorCreate,
        DoctorList,
        DoctorOut,
        DoctorQuery,
        DurationsIn,
        WorkingInterval,
        WorkingIntervalOut,
    )
    from chalicelib.api.schemas.holds import HoldIn, HoldList, HoldListQuery, HoldOut
    from chalicelib.api.schemas.patients import (
        AccessEntryOut,
        AccessHistory,
        ContactOnFileOut,
        DeviceIn,
        DeviceOut,
        DirectoryPatientOut,
        LanguageIn,
        PatientMatch,
        PatientOut,
        PatientSearchOut,
        PatientSearchQuery,
        StaffContactIn,
    )
    from chalicelib.api.schemas.realtime import TicketOut
    from chalicelib.api.schemas.reminders import (
        AdminReminderQuery,
        ReminderIdsIn,
        ReminderList,
        ReminderOut,
        ReminderPreferences,
        ReminderRetryIn,
        ReminderScheduleIn,
        ReminderUpdateIn,
        SkippedReminderOut,
    )
    from chalicelib.api.schemas.system import DevUserOut, HealthOut, SignInOut, WebConfigOut
    from chalicelib.api.schemas.telehealth import (
        ConsentIn,
        ConsentOut,
        RequirementsIn,
        RequirementsOut,
        RoomLinkOut,
        RoomOut,
        RoomQuery,
        WaitingPatientOut,
    )
    from chalicelib.api.schemas.webhooks import (
        SinceInstant,
        WebhookAttemptOut,
        WebhookCreate,
        WebhookDeliveryList,
        WebhookDeliveryOut,
        WebhookDeliveryQuery,
        WebhookEvent,
        WebhookList,
        WebhookOut,
        WebhookPatch,
        WebhookResendIn,
        WebhookUrl,
    )

_HOME: dict[str, str] = {
    "analytics": "AnalyticsDayOut AnalyticsDoctorOut AnalyticsOut AnalyticsQuery ChannelDeliveryOut LeadTimeOut",
    "appointments": (
        "AppointmentList AppointmentListQuery AppointmentOut AuditEntryOut AuditTrail BookingIn RescheduleIn StatusIn"
    ),
    "availability": "AvailabilityQuery DayAvailabilityOut SlotOut",
    "calendars": "FeedLinkOut FeedQuery FeedRevokedOut",
    "common": (
        "DATE_PATTERN FORBIDDEN_CONTROLS HHMM_PATTERN ID_PATTERN INSTANT_PATTERN MULTILINE_CONTROLS "
        "WINDOW_NOTE ApiModel AppointmentTypeName AppointmentTypeOut BulkOutcome ChannelOut Day "
        "ErrorBody ErrorOut Hhmm Id Instant LocalDate LongText Minutes OutModel Platform QueryModel "
        "ReminderKindOut ReminderStatusOut ShortText StartsAt StatusName StatusOut Text Timing "
        "WallTime Weekday absent strict_date"
    ),
    "doctors": (
        "AvailabilityIn AvailabilityOut BreakIn BreakOut DoctorCreate DoctorList DoctorOut "
        "DoctorQuery DurationsIn WorkingInterval WorkingIntervalOut"
    ),
    "holds": "HoldIn HoldList HoldListQuery HoldOut",
    "patients": (
        "AccessEntryOut AccessHistory ContactOnFileOut DeviceIn DeviceOut DirectoryPatientOut "
        "LanguageIn PatientMatch PatientOut PatientSearchOut PatientSearchQuery StaffContactIn"
    ),
    "realtime": "TicketOut",
    "reminders": (
        "AdminReminderQuery ReminderIdsIn ReminderList ReminderOut ReminderPreferences "
        "ReminderRetryIn ReminderScheduleIn ReminderUpdateIn SkippedReminderOut"
    ),
    "system": "DevUserOut HealthOut SignInOut WebConfigOut",
    "telehealth": (
        "ConsentIn ConsentOut RequirementsIn RequirementsOut RoomLinkOut RoomOut RoomQuery WaitingPatientOut"
    ),
    "webhooks": (
        "SinceInstant WebhookAttemptOut WebhookCreate WebhookDeliveryList WebhookDeliveryOut "
        "WebhookDeliveryQuery WebhookEvent WebhookList WebhookOut WebhookPatch WebhookResendIn "
        "WebhookUrl"
    ),
}
"""The module (under `chalicelib.api.schemas`) that defines each name this package offers, names apart by spaces."""

_MODULE_OF = {name: module for module, names in _HOME.items() for name in names.split()}


def __getattr__(name: str) -> Any:
    """`s.X`: imports X's module on first use and keeps X here, so later lookups are plain attribute reads."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


__all__ = [
    "DATE_PATTERN",
    "FORBIDDEN_CONTROLS",
    "HHMM_PATTERN",
    "ID_PATTERN",
    "INSTANT_PATTERN",
    "MULTILINE_CONTROLS",
    "WINDOW_NOTE",
    "AccessEntryOut",
    "AccessHistory",
    "AdminReminderQuery",
    "AnalyticsDayOut",
    "AnalyticsDoctorOut",
    "AnalyticsOut",
    "AnalyticsQuery",
    "ApiModel",
    "AppointmentList",
    "AppointmentListQuery",
    "AppointmentOut",
    "AppointmentTypeName",
    "AppointmentTypeOut",
    "AuditEntryOut",
    "AuditTrail",
    "AvailabilityIn",
    "AvailabilityOut",
    "AvailabilityQuery",
    "BookingIn",
    "BreakIn",
    "BreakOut",
    "BulkOutcome",
    "ChannelDeliveryOut",
    "ChannelOut",
    "ConsentIn",
    "ConsentOut",
    "ContactOnFileOut",
    "Day",
    "DayAvailabilityOut",
    "DevUserOut",
    "DeviceIn",
    "DeviceOut",
    "DirectoryPatientOut",
    "DoctorCreate",
    "DoctorList",
    "DoctorOut",
    "DoctorQuery",
    "DurationsIn",
    "ErrorBody",
    "ErrorOut",
    "FeedLinkOut",
    "FeedQuery",
    "FeedRevokedOut",
    "HealthOut",
    "Hhmm",
    "HoldIn",
    "HoldList",
    "HoldListQuery",
    "HoldOut",
    "Id",
    "Instant",
    "LanguageIn",
    "LeadTimeOut",
    "LocalDate",
    "LongText",
    "Minutes",
    "OutModel",
    "PatientMatch",
    "PatientOut",
    "PatientSearchOut",
    "PatientSearchQuery",
    "Platform",
    "QueryModel",
    "ReminderIdsIn",
    "ReminderKindOut",
    "ReminderList",
    "ReminderOut",
    "ReminderPreferences",
    "ReminderRetryIn",
    "ReminderScheduleIn",
    "ReminderStatusOut",
    "ReminderUpdateIn",
    "RequirementsIn",
    "RequirementsOut",
    "RescheduleIn",
    "RoomLinkOut",
    "RoomOut",
    "RoomQuery",
    "ShortText",
    "SignInOut",
    "SinceInstant",
    "SkippedReminderOut",
    "SlotOut",
    "StaffContactIn",
    "StartsAt",
    "StatusIn",
    "StatusName",
    "StatusOut",
    "Text",
    "TicketOut",
    "Timing",
    "WaitingPatientOut",
    "WallTime",
    "WebConfigOut",
    "WebhookAttemptOut",
    "WebhookCreate",
    "WebhookDeliveryList",
    "WebhookDeliveryOut",
    "WebhookDeliveryQuery",
    "WebhookEvent",
    "WebhookList",
    "WebhookOut",
    "WebhookPatch",
    "WebhookResendIn",
    "WebhookUrl",
    "Weekday",
    "WorkingInterval",
    "WorkingIntervalOut",
    "absent",
    "strict_date",
]
