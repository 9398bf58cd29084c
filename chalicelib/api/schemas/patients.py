"""Patients: their profile, language, contacts staff enter, devices, the directory search and the access history.

No `from __future__ import annotations` (see the package's docstring): a model refers only to models defined above
it or imported."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from chalicelib.api.schemas.common import ApiModel, Instant, OutModel, QueryModel, ShortText, absent
from chalicelib.domain.language import LANGUAGES


class DeviceIn(ApiModel):
    platform: Literal["apns", "fcm"]
    token: Annotated[str, Field(min_length=8, max_length=4096, pattern=r"^[A-Za-z0-9_:.\-]+$")]


class DeviceOut(OutModel):
    endpoint: str
    platform: Literal["apns", "fcm"]
    registered_at: Instant


class PatientOut(OutModel):
    id: str
    name: str | None = None
    email: str | None = None
    email_verified: bool
    phone: str | None = None
    phone_verified: bool
    language: str | None = Field(
        default=None,
        exclude_if=absent,
        description="The language chosen for the patient (`en`, `es`); absent until one is chosen",
    )


def _known_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError("must be one of " + ", ".join(LANGUAGES))
    return value


class LanguageIn(ApiModel):
    """The patient's language: the app, its reminders, its calendar files and its error messages use it."""

    language: Annotated[str, AfterValidator(_known_language), WithJsonSchema({"type": "string", "enum": [*LANGUAGES]})]


class StaffContactIn(ApiModel):
    """Contacts staff enter for a patient; an empty string clears one, an absent field keeps it."""

    email: Annotated[ShortText, Field(max_length=254)] | None = None
    phone: Annotated[ShortText, Field(max_length=32)] | None = None

    @model_validator(mode="after")
    def _names_a_contact(self) -> Self:
        if self.email is None and self.phone is None:
            raise ValueError("give email or phone")
        return self


class ContactOnFileOut(OutModel):
    email: str | None = None
    phone: str | None = None


class DirectoryPatientOut(PatientOut):
    """A directory record as staff see it: every address masked; `staffEntered` ones are never verified."""

    staff_entered: ContactOnFileOut


class PatientSearchQuery(QueryModel):
    query: Annotated[ShortText, Field(min_length=2, max_length=100)]
    limit: Annotated[int, Field(ge=1, le=50)] = 20
    next_token: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(None, alias="nextToken")


class PatientMatch(OutModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = Field(default=None, exclude_if=absent)


class PatientSearchOut(OutModel):
    patients: list[PatientMatch]
    next_token: str | None = Field(default=None, exclude_if=absent)


class AccessEntryOut(OutModel):
    id: str
    at: Instant
    actor_id: str
    actor_role: str
    action: str
    route: str
    appointment_ids: list[str]


class AccessHistory(OutModel):
    entries: list[AccessEntryOut]
