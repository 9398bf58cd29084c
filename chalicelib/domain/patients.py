"""A patient of the directory: contacts for reminders, devices, language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Device:
    """A patient's registered push device: its push endpoint (SNS), the platform, when it was registered (None on
    devices stored before that was kept)."""

    endpoint: str
    platform: str
    registered_at: datetime | None = None


@dataclass
class PatientProfile:
    """A patient of the directory: contact details kept for reminders (from the patient's own claims, with
    Cognito's verified flags, or entered by staff) and its registered push devices."""

    id: str
    email: str | None = None
    phone: str | None = None
    devices: list[Device] = field(default_factory=list)
    email_verified: bool = False
    phone_verified: bool = False
    source: str = "self"
    """`self` (the patient's own claims) or `staff` (entered by staff: shown masked, never verified)."""
    name: str | None = None
    staff_email: str | None = None
    staff_phone: str | None = None
    """Contacts staff entered for the patient: kept beside (never over) the patient's own, shown masked, never
    verified, so no reminder ever goes to them."""
    language: str | None = None
    """The language the patient chose in the app (or staff set for it); None: not chosen yet (the browser's
    `Accept-Language` answers until then, and reminders are in the clinic's language)."""

    def verified(self, channel_address: str | None, phone: bool) -> bool:
        """True when the address is this patient's current address and it is verified."""
        if not channel_address:
            return False
        if phone:
            return self.phone == channel_address and self.phone_verified
        return self.email == channel_address and self.email_verified
