"""The facility side's tunables, and the IG its documents are validated against.

The services that use a tunable take the ``RecordsConfig`` (keyword ``config``;
``DEFAULT_CONFIG`` unless the caller, a test say, passes another). The IG comes from the
``fhir_ig_path`` setting (``ig_for``: parsed once per path by ``validation.load_ig``);
the services that validate take it (keyword ``ig``); without it the core rules alone
run.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthstack.protocol.fhir.validation import (
    IgPackage,
    ValidationReport,
    load_ig,
    validate_bundle,
)
from healthstack.settings import Settings


@dataclass(frozen=True)
class RecordsConfig:
    # Tries per page before the page (and its care contexts) count as ERRORED.
    push_max_attempts: int = 6
    # ABDM's link token lasts up to six months (REFERENCE.md §4.6) when the token does
    # not say otherwise; a pending generate-token call is asked again after an hour.
    link_token_days: int = 180
    link_token_retry_seconds: int = 3600
    # The OTP a HIP sends for a patient-initiated link.
    link_otp_length: int = 6
    link_otp_ttl_seconds: int = 600
    link_otp_max_attempts: int = 3
    # The HIU's key material expiry, as written in dhPublicKey.expiry.
    hiu_key_ttl_seconds: int = 24 * 3600
    # Discovery: birth years this far apart still match (the brief's ±1).
    discovery_year_slack: int = 1
    discovery_name_score: float = 80.0
    # Where this deployment receives data pushes (under settings.base_url).
    data_push_path: str = "/api/v3/hiu/data/push"


DEFAULT_CONFIG = RecordsConfig()


def ig_for(settings: Settings) -> IgPackage | None:
    path = settings.fhir_ig_path
    return load_ig(path) if path is not None else None


def validate(bundle: object, *, ig: IgPackage | None) -> ValidationReport:
    return validate_bundle(bundle, ig=ig)


def data_push_url(settings: Settings, config: RecordsConfig = DEFAULT_CONFIG) -> str:
    """Where HIPs push to this deployment's HIUs (``dataPushUrl``)."""
    return settings.base_url.rstrip("/") + config.data_push_path
