"""Push devices: a patient registers its own, for its push reminders; the newest few are kept."""

from __future__ import annotations

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.identity import Caller, Role
from chalicelib.domain.patients import Device, PatientProfile
from chalicelib.services.ports.delivery import PushRegistrar
from chalicelib.services.ports.patients import PatientDevices
from chalicelib.services.ports.system import Clock

MAX_DEVICES = 10


class DeviceRegistry:
    def __init__(self, patients: PatientDevices, registrar: PushRegistrar, clock: Clock) -> None:
        self._patients = patients
        self._registrar = registrar
        self._clock = clock

    def register(self, caller: Caller, platform: str, token: str) -> Device:
        if caller.role is not Role.PATIENT:
            raise Forbidden("Only patients register devices for their own reminders.")
        endpoint = self._registrar.register_device(caller.subject, platform, token)
        profile = self._patients.get(caller.subject) or PatientProfile(id=caller.subject)
        now = self._clock.now()
        device = Device(endpoint, platform, now.replace(microsecond=0))
        others = [d for d in profile.devices if d.endpoint != endpoint]
        self._patients.save_devices(caller.subject, [*others, device][-MAX_DEVICES:], now)
        return device
