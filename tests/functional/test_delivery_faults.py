"""At most once per recipient: a send the provider may have accepted is never resent automatically (neither by
botocore's retries nor ours), push records each device's outcome, and only a gone device is removed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from tests.faults import HttpAnswer
from tests.functional.test_reminders import dispatch, emails_sent, sms_sent, tick
from tests.helpers import admin, patient


def lose_response_after_send(client, operation: str, error: Exception, times: int = 1):
    """The provider receives and acts on the call, then the response is lost (below botocore's retry loop)."""
    left = {"n": times}
    wanted = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def after_send(event_name, **_):
        if event_name == wanted and left["n"]:
            left["n"] -= 1
            raise error

    # on the general event, after moto's own handler: the message lands, then this one loses the answer
    client.meta.events.register_last("before-send", after_send)
    return after_send


def test_ses_accepts_then_the_response_is_lost_exactly_one_message_and_outcome_unknown(api, wired, clock, lambdas):
    # GIVEN a booked visit with an e-mail reminder, and SES that accepts the message but the answer never arrives
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    rid = f"{a['id']}_email-24h"
    lose_response_after_send(wired.deliverer.ses, "SendEmail", ReadTimeoutError(endpoint_url="https://ses"), 100)
    clock.current = clock.current.replace(hour=15)
    # WHEN the dispatcher runs, its schedule fires again, and the sweep runs later
    outcomes = [dispatch(lambdas, rid), dispatch(lambdas, rid)]
    clock.current += timedelta(hours=1)
    lambdas.lambda_.invoke("reminder_sweep", tick(lambdas))
    # THEN SES got exactly one message, and the reminder is failed with a distinct, visible reason
    assert emails_sent() == 1
    assert outcomes == ["failed", "not-claimed"]
    listed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert [(r["id"], r["outcomeUnknown"]) for r in listed] == [(rid, True)]
    assert listed[0]["lastError"].startswith("delivery outcome unknown")


def test_an_unknown_outcome_is_retried_only_with_explicit_confirmation(api, wired, clock, lambdas):
    # GIVEN an SMS reminder whose connection was reset after SNS read the request
    a = api.book(api.doctor_with_hours(), reminderPreferences={"sms": True, "timing": "24h"})
    rid = f"{a['id']}_sms-24h"
    lose_response_after_send(wired.deliverer.sns, "Publish", ConnectionClosedError(endpoint_url="https://sns"))
    clock.current = clock.current.replace(hour=15)
    assert dispatch(lambdas, rid) == "failed"
    assert len(sms_sent()) == 1
    # WHEN an admin retries it without confirming
    refused = api.call("POST", "/api/admin/reminders/retry", admin(), {"reminderIds": [rid]})
    # THEN nothing is retried and the answer says why
    assert (refused.status_code, refused.data["error"]["code"]) == (409, "INVALID_STATE")
    assert refused.data["error"]["details"]["unknownOutcome"] == [rid]
    assert api.call("GET", f"/api/reminders/appointment/{a['id']}", patient()).data["reminders"][0]["status"] == (
        "failed"
    )
    # WHEN the admin confirms
    confirmed = api.call(
        "POST", "/api/admin/reminders/retry", admin(), {"reminderIds": [rid], "confirmUnknownOutcome": True}
    )
    # THEN it is sent once more
    assert confirmed.data["outcomes"] == {rid: "pending"}
    clock.current += timedelta(minutes=2)
    assert dispatch(lambdas, rid) == "sent"
    assert len(sms_sent()) == 2


def test_no_connection_made_is_retried_since_nothing_was_sent(api, wired, clock, lambdas):
    # GIVEN SES that cannot be reached once (the connection is refused before any request is sent)
    from botocore.exceptions import EndpointConnectionError

    fail = {"n": 1}

    def refuse(**_):
        if fail["n"]:
            fail["n"] -= 1
            raise EndpointConnectionError(endpoint_url="https://ses")

    wired.deliverer.ses.meta.events.register_first("before-send.sesv2.SendEmail", refuse)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"email": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    # WHEN the reminder is dispatched THEN our own retry delivers it, once
    assert dispatch(lambdas, f"{a['id']}_email-24h") == "sent"
    assert emails_sent() == 1


def test_send_clients_have_no_botocore_retries():
    from chalicelib.adapters.delivery import send_client

    # GIVEN the clients the deliverer builds WHEN asked for their retry policy THEN a call is tried exactly once
    assert send_client("sesv2", "us-east-1").meta.config.retries["total_max_attempts"] == 1
    assert send_client("sns", "us-east-1").meta.config.retries["total_max_attempts"] == 1


# --- push ----------------------------------------------------------------------------------------------------
@pytest.fixture
def two_devices(api, wired, fcm_push):
    endpoints = []
    for token in ("fcm-token-1", "fcm-token-2"):
        made = api.call("POST", "/api/patients/me/devices", patient(), {"platform": "fcm", "token": token})
        endpoints.append(made.data["endpoint"])
    return endpoints


def sns_error(code: str, message: str):
    return HttpAnswer(400), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


@pytest.fixture
def push_faults(wired):
    """Per endpoint: a list of fault responses to answer before SNS sees the call; counts what got through."""
    faults: dict[str, list] = {}
    delivered: dict[str, int] = {}

    def before(params, **_):
        target = params["body"].get("TargetArn")  # the serialized request: SNS's query protocol keeps a dict
        if target is None:
            return None
        queue = faults.get(target)
        if queue:
            return queue.pop(0)
        delivered[target] = delivered.get(target, 0) + 1
        return None

    wired.deliverer.sns.meta.events.register("before-call.sns.Publish", before)
    yield faults, delivered
    wired.deliverer.sns.meta.events.unregister("before-call.sns.Publish", before)


def test_two_devices_one_throttled_each_gets_exactly_one_push_once_it_recovers(
    api, wired, clock, lambdas, two_devices, push_faults
):
    # GIVEN two devices, the second throttled for longer than the deliverer's own retries
    faults, delivered = push_faults
    first, second = two_devices
    faults[second] = [sns_error("Throttled", "Rate exceeded")] * 3
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    rid = f"{a['id']}_push-24h"
    clock.current = clock.current.replace(hour=15)
    # WHEN the reminder is dispatched, then again after its backoff once SNS recovers
    assert dispatch(lambdas, rid) == "retry-later"
    clock.current += timedelta(minutes=5)
    assert dispatch(lambdas, rid) == "sent"
    # THEN each device got it exactly once
    assert delivered == {first: 1, second: 1}


def test_a_push_authorization_error_does_not_remove_the_device(api, wired, clock, lambdas, two_devices, push_faults):
    # GIVEN two devices, SNS refusing the clinic's credentials for one of them
    faults, delivered = push_faults
    first, second = two_devices
    faults[first] = [sns_error("AuthorizationError", "not authorized")]
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    # WHEN it is dispatched
    assert dispatch(lambdas, f"{a['id']}_push-24h") == "sent"
    # THEN both devices are still registered
    profile = wired.adapters.patients.get("patient-1")
    assert [d.endpoint for d in profile.devices] == [first, second]
    assert delivered == {second: 1}


def test_every_device_refusing_fails_the_reminder_and_keeps_the_devices(
    api, wired, clock, lambdas, two_devices, push_faults
):
    # GIVEN both devices refused for an authorization problem (the clinic's configuration)
    faults, _ = push_faults
    for endpoint in two_devices:
        faults[endpoint] = [sns_error("AuthorizationError", "not authorized")]
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    clock.current = clock.current.replace(hour=15)
    # WHEN dispatched THEN it fails with the reason and no device is removed
    assert dispatch(lambdas, f"{a['id']}_push-24h") == "failed"
    failed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert "AuthorizationError" in failed[0]["lastError"] and failed[0]["outcomeUnknown"] is False
    assert len(wired.adapters.patients.get("patient-1").devices) == 2


# --- a lost answer or a 5xx on one device, and on e-mail and SMS -----------------------------------------------------
def pushes_to(endpoint: str) -> int:
    """Messages SNS took for one push endpoint (moto keeps them on the endpoint)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return len(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].platform_endpoints[endpoint].messages)


@pytest.fixture
def three_devices(api, wired, fcm_push):
    return [
        api.call("POST", "/api/patients/me/devices", patient(), {"platform": "fcm", "token": f"fcm-token-{n}"}).data[
            "endpoint"
        ]
        for n in range(3)
    ]


def after_sending_to(client, endpoint: str, lose=None, answer=None):
    """SNS takes the push for `endpoint` (moto acts on it), and then the answer is lost (`lose()` says with what
    exception, or None to let it through) or replaced (`answer(request)`, e.g. a 500). Botocore runs every
    before-send handler and takes the first answer: a lost answer is raised after moto's handler (on the general
    event, last), an answer of our own is given before it (on the operation's event), moto still acting on it."""
    from urllib.parse import parse_qs

    def for_endpoint(request) -> bool:
        body = parse_qs(request.body.decode() if isinstance(request.body, bytes) else str(request.body or ""))
        return body.get("TargetArn") == [endpoint]

    def after_moto(request, event_name, **_):
        error = lose() if event_name == "before-send.sns.Publish" and for_endpoint(request) else None
        if error is not None:
            raise error

    def before_moto(request, **_):
        return answer(request) if for_endpoint(request) else None

    if lose is not None:
        client.meta.events.register_last("before-send", after_moto)
    if answer is not None:
        client.meta.events.register_first("before-send.sns.Publish", before_moto)


def internal_failure(service: str):
    """A provider's 500 `InternalFailure`, in the wire format of SNS (query, XML) or SES v2 (REST, JSON)."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    if service == "sns":
        body = (
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
            "<Message>Internal failure</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    else:
        body = '{"message": "Internal failure"}'
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "InternalFailure"}

    def answer(request):
        return AWSResponse(request.url, 500, headers, MockRawResponse(body))

    return answer


def test_a_lost_answer_from_one_device_is_its_unknown_outcome_and_the_others_still_get_it(
    api, wired, clock, lambdas, three_devices
):
    # GIVEN three devices, SNS taking the push for the first and the answer then lost (a read timeout)
    first, second, third = three_devices

    after_sending_to(wired.deliverer.sns, first, lose=lambda: ReadTimeoutError(endpoint_url="https://sns"))
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    rid = f"{a['id']}_push-24h"
    clock.current = clock.current.replace(hour=15)
    # WHEN the reminder is dispatched
    outcome = dispatch(lambdas, rid)
    # THEN the devices after it were tried too: each device got exactly one push, and the reminder is sent
    assert outcome == "sent"
    assert [pushes_to(e) for e in three_devices] == [1, 1, 1]
    # ... with every device recorded (served, or unknown apart), so nothing can go to them again
    stored = wired.adapters.reminders.get(rid)
    assert (set(stored.served), stored.unknown_devices) == ({first, second, third}, (first,))


def test_a_retry_for_a_throttled_device_skips_the_devices_whose_answer_was_lost_or_a_500(
    api, wired, clock, lambdas, three_devices
):
    # GIVEN three devices: the first's answer lost, the third's a 500 after SNS took it, the second served
    first, second, third = three_devices

    after_sending_to(wired.deliverer.sns, first, lose=lambda: ReadTimeoutError(endpoint_url="https://sns"))
    after_sending_to(wired.deliverer.sns, third, answer=internal_failure("sns"))
    # ... and the second device throttled for longer than the deliverer's retries, so it is served later
    throttle = {"n": 3}

    def throttled_second(params, **_):
        if params["body"].get("TargetArn") == second and throttle["n"]:
            throttle["n"] -= 1
            return sns_error("Throttled", "Rate exceeded")
        return None

    wired.deliverer.sns.meta.events.register("before-call.sns.Publish", throttled_second)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    rid = f"{a['id']}_push-24h"
    clock.current = clock.current.replace(hour=15)
    # WHEN it is dispatched, and again after its backoff
    assert dispatch(lambdas, rid) == "retry-later"
    clock.current += timedelta(minutes=5)
    assert dispatch(lambdas, rid) == "sent"
    # THEN each device got one push: the unknown ones were not sent to again by the retry
    assert [pushes_to(e) for e in three_devices] == [1, 1, 1]


def test_an_unknown_push_is_resent_only_after_an_admin_confirms_and_then_once(
    api, wired, clock, lambdas, three_devices
):
    # GIVEN a push whose every device's connection was reset after SNS took it
    losing = {"on": True}

    def lost():
        return ConnectionClosedError(endpoint_url="https://sns") if losing["on"] else None

    for endpoint in three_devices:
        after_sending_to(wired.deliverer.sns, endpoint, lose=lost)
    a = api.book(api.doctor_with_hours(), reminderPreferences={"push": True, "timing": "24h"})
    rid = f"{a['id']}_push-24h"
    clock.current = clock.current.replace(hour=15)
    # WHEN dispatched THEN the reminder's outcome is unknown (not "could not send"), every device tried once
    assert dispatch(lambdas, rid) == "failed"
    failed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert [(r["id"], r["outcomeUnknown"]) for r in failed] == [(rid, True)]
    assert failed[0]["lastError"].startswith("delivery outcome unknown (push to 3 device(s))")
    assert [pushes_to(e) for e in three_devices] == [1, 1, 1]
    # WHEN a staff Retry comes without confirmation THEN it is refused (the patient may have it)
    refused = api.call("POST", "/api/admin/reminders/retry", admin(), {"reminderIds": [rid]})
    assert refused.status_code == 409
    # WHEN confirmed THEN each device gets it once more
    losing["on"] = False
    confirmed = api.call(
        "POST", "/api/admin/reminders/retry", admin(), {"reminderIds": [rid], "confirmUnknownOutcome": True}
    )
    assert confirmed.data["outcomes"] == {rid: "pending"}
    clock.current += timedelta(minutes=2)
    assert dispatch(lambdas, rid) == "sent"
    assert [pushes_to(e) for e in three_devices] == [2, 2, 2]


def lose_with_500(client, operation: str, service: str):
    """The provider acts on the call and answers 500 InternalFailure to botocore itself, so that botocore's retry
    handling sees the 5xx: botocore runs every before-send handler and takes the first answer, so moto's own (on
    the general event, after this one) still takes the message. Counts the requests that reached the provider."""
    reached = {"n": 0}
    answer = internal_failure(service)
    wanted = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def hook(request, **_):
        reached["n"] += 1
        return answer(request)

    client.meta.events.register_first(wanted, hook)
    return reached


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_5xx_after_the_provider_took_the_message_is_an_unknown_outcome_sent_once(api, wired, clock, lambdas, channel):
    # GIVEN SES or SNS that takes each message and then answers 500 InternalFailure
    client, operation, service = (
        (wired.deliverer.ses, "SendEmail", "sesv2") if channel == "email" else (wired.deliverer.sns, "Publish", "sns")
    )
    reached = lose_with_500(client, operation, service)
    a = api.book(api.doctor_with_hours(), reminderPreferences={channel: True, "timing": "24h"})
    rid = f"{a['id']}_{channel}-24h"
    clock.current = clock.current.replace(hour=15)
    # WHEN its schedule fires, fires again, and the sweep runs later
    outcomes = [dispatch(lambdas, rid), dispatch(lambdas, rid)]
    clock.current += timedelta(hours=1)
    lambdas.lambda_.invoke("reminder_sweep", tick(lambdas))
    # THEN exactly one request reached the provider (no retry by botocore, by the deliverer or by the dispatcher)
    assert reached["n"] == 1
    assert (emails_sent() if channel == "email" else len(sms_sent())) == 1
    # ... and the reminder is failed as an unknown outcome, resent only if staff confirm
    assert outcomes == ["failed", "not-claimed"]
    listed = api.call("GET", "/api/admin/reminders?status=failed", admin()).data["reminders"]
    assert [(r["id"], r["outcomeUnknown"]) for r in listed] == [(rid, True)]
    assert listed[0]["lastError"].startswith("delivery outcome unknown (500 InternalFailure")


def test_registering_a_device_retries_a_5xx_since_it_sends_nothing(api, wired, fcm_push):
    # GIVEN push set up, and SNS answering the first CreatePlatformEndpoint with a 500 (it sends no message, and
    # making an endpoint twice for one token gives the same endpoint)
    failed = {"n": 1}

    def internal_failure_once(**_):
        if failed["n"]:
            failed["n"] -= 1
            return HttpAnswer(500), {
                "Error": {"Code": "InternalFailure", "Message": "oops"},
                "ResponseMetadata": {"HTTPStatusCode": 500},
            }
        return None

    wired.deliverer.sns.meta.events.register("before-call.sns.CreatePlatformEndpoint", internal_failure_once)
    # WHEN a patient registers a device THEN it is registered (retried), not refused as an unknown outcome
    made = api.call("POST", "/api/patients/me/devices", patient(), {"platform": "fcm", "token": "fcm-token-1"})
    assert made.status_code == 201 and made.data["endpoint"].startswith("arn:aws:sns")
    assert failed["n"] == 0
