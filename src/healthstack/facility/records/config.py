"""The facility side's tunables, and the IG its documents are validated against.

``records_config(runtime)`` gives ``runtime.extras["records.config"]`` when something put
a ``RecordsConfig`` there (tests shrink the page size), else the defaults. The IG comes
from the ``fhir_ig_path`` setting (parsed once per path by ``validation.load_ig``);
without it the core rules alone run.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthstack.protocol.fhir.validation import (
    IgPackage,
    ValidationReport,
    load_ig,
    validate_bundle,
)
from healthstack.runtime import Runtime

CONFIG_KEY = "records.config"


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


def records_config(runtime: Runtime) -> RecordsConfig:
    config = runtime.extras.get(CONFIG_KEY)
    return config if isinstance(config, RecordsConfig) else RecordsConfig()


def ig_for(runtime: Runtime) -> IgPackage | None:
    path = runtime.settings.fhir_ig_path
    return load_ig(path) if path is not None else None


def validate(runtime: Runtime, bundle: object) -> ValidationReport:
    return validate_bundle(bundle, ig=ig_for(runtime))


def data_push_url(runtime: Runtime) -> str:
    return runtime.settings.base_url.rstrip("/") + records_config(runtime).data_push_path
