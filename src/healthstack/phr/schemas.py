"""Request bodies of the PHR JSON API (``phr.router``; camelCase, as ABDM's PHR app
API writes them). Answers are the dicts ``phr.service`` returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from healthstack.protocol.abdm.messages import AbdmDateTime


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class DiscoverBody(_Body):
    hip_id: str = Field(min_length=1, max_length=32)
    # The patient's record number at that HIP, if they know it (sent as an MR).
    record_number: str | None = Field(default=None, max_length=64)


class LinkBody(_Body):
    # Care context reference numbers from the discovery answer; none: all of them.
    care_contexts: list[str] | None = None


class ConfirmBody(_Body):
    otp: str = Field(min_length=1, max_length=16)


class HipRef(_Body):
    id: str = Field(min_length=1, max_length=32)


class CareContextChoice(_Body):
    patient_reference: str = Field(min_length=1, max_length=64)
    care_context_reference: str = Field(min_length=1, max_length=64)


class DateRangeChoice(_Body):
    from_: AbdmDateTime = Field(validation_alias="from", serialization_alias="from")
    to: AbdmDateTime


class PermissionChoice(_Body):
    date_range: DateRangeChoice | None = None
    data_erase_at: AbdmDateTime | None = None


class GrantBody(_Body):
    """One facility's share: anything left out is what the request asked for."""

    hip: HipRef
    hi_types: list[str] | None = None
    care_contexts: list[CareContextChoice] | None = None
    permission: PermissionChoice | None = None


class ApproveBody(_Body):
    consents: list[GrantBody] = Field(min_length=1, max_length=50)
    # The patient's consent PIN (consent.pin): approving needs it.
    pin: str | None = Field(default=None, max_length=8)


class PinBody(_Body):
    """A new consent PIN; changing one needs the current PIN."""

    pin: str = Field(min_length=1, max_length=8)
    current_pin: str | None = Field(default=None, max_length=8)


class PinResendBody(_Body):
    txn_id: str = Field(min_length=1, max_length=64)


class PinResetBody(_Body):
    """The OTP sent to the ABHA mobile, and the new PIN."""

    txn_id: str = Field(min_length=1, max_length=64)
    otp: str = Field(min_length=1, max_length=16)
    pin: str = Field(min_length=1, max_length=8)


class RevokeBody(_Body):
    # Artefact ids to revoke; none: every granted artefact of the request.
    consent_ids: list[str] | None = None


class FetchBody(_Body):
    """Fetch your own records into the PHR; anything left out: every type of record,
    from every linked facility, from your birth year until now."""

    hi_types: list[str] | None = Field(default=None, max_length=8)
    date_range: DateRangeChoice | None = None
    hip_id: str | None = Field(default=None, min_length=1, max_length=32)
