"""Every AWS client the adapters make retries the same way (botocore's standard mode, configured once) and has
bounded timeouts; the senders alone make a single attempt, so a timed-out send is never sent twice."""

from __future__ import annotations

from chalicelib.adapters.delivery import AwsDeliverer
from chalicelib.adapters.scheduler import EventBridgeReminderScheduler


def retries(client) -> tuple[str, int, float]:
    config = client.meta.config
    return config.retries["mode"], config.retries["total_max_attempts"], config.read_timeout


def test_each_client_retries_in_standard_mode_and_the_senders_send_once(wired):
    # GIVEN the deliverer the composition root built, and a scheduler built from the same settings
    deliverer = wired.deliverer
    assert isinstance(deliverer, AwsDeliverer)
    scheduler = EventBridgeReminderScheduler(wired.settings)
    # WHEN their clients are made (on first use)
    made = {
        "scheduler": scheduler._client,
        "idempotency": wired.idempotency._persistence.client,
        "email": deliverer.ses,
        "sms and push": deliverer.sns,
    }
    # THEN the ones that may retry use botocore's standard mode, 3 attempts; the senders make exactly one
    assert retries(made["scheduler"]) == ("standard", 3, 10)
    assert retries(made["idempotency"]) == ("standard", 3, 10)
    assert retries(made["email"]) == ("standard", 1, 10)
    assert retries(made["sms and push"]) == ("standard", 1, 10)
