"""Reminder delivery: SES v2 e-mail (plain text, HTML and an .ics attachment), SNS SMS and SNS mobile push;
or, for local runs, an outbox folder with one readable file per message.

Throttling is retried here with backoff (`adapters.retrying`); what still fails is a TransientDeliveryError.
Errors that retrying cannot fix (unverified sender, opted-out number, disabled endpoint) are a
PermanentDeliveryError at once. A send that may have reached the provider is an UnknownDeliveryOutcome and is
never retried: a read timeout, a connection reset mid-request, a response that cannot be read, and any 5xx answer
(`InternalFailure`: the provider may have sent it before failing). The SES and SNS clients are built without
botocore's own retries for that reason (a botocore retry of a 5xx is a resend too), and this module retries only
what is known not to have been delivered (throttling, no connection made, credentials not yet at hand).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

from chalicelib.adapters.retrying import Backoff
from chalicelib.config import Settings
from chalicelib.domain.appointments import Appointment
from chalicelib.domain.calendar import appointment_ics
from chalicelib.domain.delivery import Delivery, PermanentDeliveryError, TransientDeliveryError, UnknownDeliveryOutcome
from chalicelib.domain.errors import PushNotConfigured
from chalicelib.domain.reminders import Channel, Reminder, push_title, render
from chalicelib.domain.timefmt import instant

log = logging.getLogger("clinic.reminders")
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "KMSThrottlingException",
        "KMSThrottling",
        "Throttled",
    }
)
"""Refusals that prove nothing was sent (4xx throttling answers): retried. A 5xx from a send is never retried."""
GONE_ENDPOINT_CODES = frozenset({"EndpointDisabled", "NotFound"})
"""Push endpoints that can never receive again: the device is removed. Anything else (AuthorizationError, a
disabled platform application) is the clinic's configuration, not the patient's device."""


def send_client(service: str, region: str) -> Any:
    """A client for send calls: no botocore retries (a retried timeout may send twice), tight timeouts."""
    from chalicelib.adapters import aws

    return aws.client(service, region, attempts=1)


def _text_part(text: str, subtype: str) -> MIMEText:
    """7bit when ASCII, else UTF-8 quoted-printable (still readable in the outbox's files)."""
    if text.isascii():
        return MIMEText(text, subtype, "us-ascii")
    utf8 = Charset("utf-8")
    utf8.body_encoding = QP
    return MIMEText(text, subtype, utf8)  # type: ignore[arg-type]


def email_message(reminder: Reminder, appointment: Appointment, sender: str, stamp: datetime) -> Message:
    """multipart/mixed: a text and an HTML alternative, and the appointment as an .ics attachment.

    Built with the `email.mime` classes: `EmailMessage`'s header parsing took most of a sweep's per-reminder CPU.
    A header value with a line break is refused here (header injection), as `EmailMessage` did."""
    message = render(Channel.EMAIL, appointment, reminder.custom_message, language=reminder.language)
    recipient = reminder.recipient_email or ""
    if any("\r" in value or "\n" in value for value in (message.subject, sender, recipient)):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    mail = MIMEMultipart("mixed")
    mail["Subject"] = message.subject if message.subject.isascii() else Header(message.subject, "utf-8").encode()
    mail["From"] = sender
    mail["To"] = recipient
    alternatives = MIMEMultipart("alternative")
    alternatives.attach(_text_part(message.text, "plain"))
    alternatives.attach(_text_part(message.html, "html"))
    mail.attach(alternatives)
    calendar = _text_part(appointment_ics(appointment, stamp, reminder.language).decode("utf-8"), "calendar")
    calendar.add_header("Content-Disposition", "attachment", filename="appointment.ics")
    mail.attach(calendar)
    return mail


def push_payload(text: str, language: str = "en") -> str:
    """The notification in the patient's language (its title from the catalogue, its text the reminder's)."""
    title = push_title(language)
    return json.dumps(
        {
            "default": text,
            "APNS": json.dumps({"aps": {"alert": {"title": title, "body": text}}}, ensure_ascii=False),
            "GCM": json.dumps({"notification": {"title": title, "body": text}}, ensure_ascii=False),
        },
        ensure_ascii=False,
    )


class AwsDeliverer:
    def __init__(
        self,
        settings: Settings,
        ses: Any | None = None,
        sns: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 3,
        base_delay: float = 0.2,
    ) -> None:
        self._region = settings.region
        self._ses = ses
        self._sns = sns
        self._settings = settings
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._sleep = sleep
        self._attempts = attempts
        self._base_delay = base_delay

    @property
    def ses(self) -> Any:
        """Made on the first e-mail, not at cold start: most requests send nothing."""
        if self._ses is None:
            self._ses = send_client("sesv2", self._region)
        return self._ses

    @property
    def sns(self) -> Any:
        if self._sns is None:
            self._sns = send_client("sns", self._region)
        return self._sns

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints: Sequence[str]) -> Delivery:
        if reminder.channel is Channel.EMAIL:
            return self._email(reminder, appointment)
        if reminder.channel is Channel.SMS:
            return self._sms(reminder)
        return self._push(reminder, push_endpoints)

    def _email(self, reminder: Reminder, appointment: Appointment) -> Delivery:
        if not reminder.recipient_email:
            raise PermanentDeliveryError("no e-mail address")
        mail = email_message(reminder, appointment, self._settings.ses_from_address, self._clock())
        request: dict[str, Any] = {
            "FromEmailAddress": self._settings.ses_from_address,
            "Destination": {"ToAddresses": [reminder.recipient_email]},
            "Content": {"Raw": {"Data": mail.as_bytes()}},
        }
        if self._settings.ses_configuration_set:
            request["ConfigurationSetName"] = self._settings.ses_configuration_set
        answer = self._call(lambda: self.ses.send_email(**request))
        return Delivery(str(answer.get("MessageId", "")))

    def _sms(self, reminder: Reminder) -> Delivery:
        if not reminder.recipient_phone:
            raise PermanentDeliveryError("no phone number")
        answer = self._call(
            lambda: self.sns.publish(
                PhoneNumber=reminder.recipient_phone,
                Message=reminder.message,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        )
        return Delivery(str(answer.get("MessageId", "")))

    def _push(self, reminder: Reminder, endpoints: Sequence[str]) -> Delivery:
        """Each device on its own: a throttled device does not make the others be sent to again, and a device
        whose answer is lost (or that fails in any way we cannot classify) is that device's unknown outcome:
        the devices after it are still tried, and every device's outcome is reported."""
        if not endpoints:
            raise PermanentDeliveryError("no registered device")
        delivered: list[str] = []
        served: list[str] = []
        unknown: list[str] = []
        pending: list[str] = []
        disabled: list[str] = []
        refused: str | None = None
        for endpoint in endpoints:
            try:
                answer = self._call(self._publisher(endpoint, push_payload(reminder.message, reminder.language)))
                delivered.append(str(answer.get("MessageId", "")))
                served.append(endpoint)
            except UnknownDeliveryOutcome:
                unknown.append(endpoint)
            except TransientDeliveryError as exc:
                pending.append(endpoint)
                refused = refused or str(exc)
            except PermanentDeliveryError as exc:
                if exc.disabled_endpoint:
                    disabled.append(endpoint)
                else:
                    refused = str(exc)
            except Exception:  # nothing may stop the fan-out: this device may have got it
                log.exception("push to one device of reminder %s failed unexpectedly; outcome unknown", reminder.id)
                unknown.append(endpoint)
        return Delivery(",".join(delivered), tuple(disabled), tuple(served), tuple(unknown), tuple(pending), refused)

    def _publisher(self, endpoint: str, payload: str) -> Callable[[], Any]:
        def publish() -> Any:
            from botocore.exceptions import ClientError

            try:
                return self.sns.publish(TargetArn=endpoint, MessageStructure="json", Message=payload)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in GONE_ENDPOINT_CODES:
                    raise PermanentDeliveryError(f"{code}: the device is gone", disabled_endpoint=endpoint) from exc
                raise

        return publish

    def register_device(self, patient_id: str, platform: str, token: str) -> str:
        arn = {
            "apns": self._settings.sns_apns_application_arn,
            "fcm": self._settings.sns_fcm_application_arn,
        }.get(platform)
        if not arn:
            raise PushNotConfigured(f"Push notifications for {platform} are not set up for this clinic.")
        answer = self._call(
            lambda: self.sns.create_platform_endpoint(
                PlatformApplicationArn=arn, Token=token, CustomUserData=patient_id
            ),
            sends=False,
        )
        return str(answer["EndpointArn"])

    def _call(self, action: Callable[[], Any], sends: bool = True) -> Any:
        """Run one provider call, retrying only what proves nothing happened. `sends`: the call delivers a
        message, so anything that may have reached the provider is an UnknownDeliveryOutcome (never resent);
        a call that sends nothing (registering a device, idempotent) treats a 5xx as transient.

        Our own loop, not botocore's standard mode: that mode also retries 5xx answers, read timeouts and
        connections reset mid-request, each of which may already have delivered the message (a retry would
        send it twice). The send clients are built with one attempt, and this loop retries only the answers
        that prove nothing was sent (throttling, no connection made, credentials not yet at hand)."""
        reason = ""
        for _ in Backoff(attempts=self._attempts, base=self._base_delay, sleep=self._sleep).tries():
            try:
                return action()
            except (UnknownDeliveryOutcome, TransientDeliveryError, PermanentDeliveryError):
                raise
            except Exception as exc:
                reason = _retryable(exc, sends)
        raise TransientDeliveryError(reason[:300])


def _retryable(exc: Exception, sends: bool) -> str:
    """Why a failed provider call may be tried again (nothing was delivered), or the error to raise instead."""
    from botocore.exceptions import (
        BotoCoreError,
        ChecksumError,
        ClientError,
        FlexibleChecksumError,
        HTTPClientError,
        IncompleteReadError,
        ParamValidationError,
    )
    from botocore.exceptions import ConnectionError as NoConnection

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, text = str(error.get("Code", "")), str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500 and sends:  # the provider failed after reading the request: it may have sent it
            raise UnknownDeliveryOutcome(f"{status} {code}"[:300]) from exc
        if status < 500 and code not in TRANSIENT_CODES and "Maximum sending rate exceeded" not in text:
            raise PermanentDeliveryError(f"{code}: {text}"[:300]) from exc
        return f"{code}: {text}"
    if isinstance(exc, NoConnection):  # no connection was made (refused, connect timeout, TLS): not sent
        return type(exc).__name__
    if isinstance(exc, ParamValidationError):  # refused by botocore before anything was sent
        raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    after_send = (HTTPClientError, IncompleteReadError, ChecksumError, FlexibleChecksumError)
    if isinstance(exc, BotoCoreError) and not isinstance(exc, after_send):
        return type(exc).__name__  # raised before the request went out (credentials, endpoint resolution)
    if not sends:
        if isinstance(exc, after_send):
            return type(exc).__name__
        raise exc
    # a read timeout, a reset mid-request, an answer that cannot be read: it may have been acted on
    raise UnknownDeliveryOutcome(type(exc).__name__) from exc


class OutboxDeliverer:
    """Writes each message to `<outbox>/<time>-<channel>-<reminder id>.<eml|txt|json>` (local runs)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self._dir = Path(settings.outbox_dir)
        self._settings = settings
        self._clock = clock

    def send(self, reminder: Reminder, appointment: Appointment, push_endpoints: Sequence[str]) -> Delivery:
        self._dir.mkdir(parents=True, exist_ok=True)
        now = self._clock()
        stem = f"{now.strftime('%Y%m%dT%H%M%S')}-{reminder.channel.value}-{reminder.id}"
        if reminder.channel is Channel.EMAIL:
            if not reminder.recipient_email:
                raise PermanentDeliveryError("no e-mail address")
            if reminder.recipient_email.lower().endswith(".invalid"):  # RFC 2606: can never be delivered
                raise PermanentDeliveryError("MessageRejected: the address's domain cannot receive mail")
            path = self._dir / f"{stem}.eml"
            path.write_bytes(email_message(reminder, appointment, self._settings.ses_from_address, now).as_bytes())
        elif reminder.channel is Channel.SMS:
            if not reminder.recipient_phone:
                raise PermanentDeliveryError("no phone number")
            path = self._dir / f"{stem}.txt"
            path.write_text(f"To: {reminder.recipient_phone}\nAt: {instant(now)}\n\n{reminder.message}\n")
        else:
            if not push_endpoints:
                raise PermanentDeliveryError("no registered device")
            path = self._dir / f"{stem}.json"
            path.write_text(
                json.dumps(
                    {
                        "endpoints": list(push_endpoints),
                        "at": instant(now),
                        "payload": json.loads(push_payload(reminder.message, reminder.language)),
                    },
                    indent=2,
                )
            )
        return Delivery(path.name)

    def register_device(self, patient_id: str, platform: str, token: str) -> str:
        digest = hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:24]
        return f"outbox:{platform}:{digest}"
