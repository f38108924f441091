"""Typed settings, read from the environment (prefix ``HEALTHSTACK_``), and the state
profile they name.

Nothing here connects to anything or touches the disk at import. Secrets are
``SecretStr`` without a usable default: the development placeholder is refused
outside development and test.

The state profile (``StateProfile``) holds the facts of the state a deployment serves:
its LGD code and name, its districts (LGD code, name, other spellings, census
population) and the target population the dashboard's ABHA targets share out. It is
read from a JSON file (``HEALTHSTACK_STATE_PROFILE``; unset: Jammu and Kashmir,
``profiles/jk.json`` in the package) when the settings are built, so another state
deploys with its own file and no code change, and a bad file is refused at start with
the file and the field named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PLACEHOLDER = "dev-only-change-me"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class OtpSettings(BaseSettings):
    """ABDM OTP rules (CRT_ABHA_106): 6 digits, expiry, 3 tries, resend after 60 s, twice."""

    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_OTP_", extra="ignore")

    length: int = 6
    ttl_seconds: int = 600
    max_attempts: int = 3
    resend_after_seconds: int = 60
    max_resends: int = 2
    lockout_seconds: int = 1800


class AbhaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_ABHA_", extra="ignore")

    # The ABHA address suffix equals the consent manager id (X-CM-ID): "abdm" in
    # production, "sbx" in the sandbox.
    cm_id: str = "sbx"
    consent_version: str = "1.4"
    user_token_ttl_seconds: int = 1800
    refresh_token_ttl_seconds: int = 1296000
    # Enrolment transactions (txnId) stay usable this long after the last step.
    txn_ttl_seconds: int = 1800


class GatewaySettings(BaseSettings):
    """The network side's ABDM gateway (``healthstack.network.gateway``). Its CM id is
    ``abha.cm_id``: the consent manager that the ABHA address suffix names."""

    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_GATEWAY_", extra="ignore")

    # ABDM's example session answers expiresIn 1800 (seconds, REFERENCE.md 4.9).
    session_ttl_seconds: int = 1800
    refresh_ttl_seconds: int = 86400
    # TIMESTAMP header window: clocks drift and queues delay, but a stale or
    # far-future message is refused.
    timestamp_past_seconds: int = 600
    timestamp_future_seconds: int = 120
    # Per-bridge token bucket. One state HMIS bridge serves thousands of facilities,
    # so the default is generous; ABDM's own limits are not published.
    rate_per_second: float = 100.0
    rate_burst: int = 500
    callback_max_attempts: int = 8
    # The signed Authorization of one callback delivery attempt.
    callback_token_ttl_seconds: int = 300
    http_timeout_seconds: float = 10.0


class AbdmSettings(BaseSettings):
    """The facility side's client of an ABDM gateway (``healthstack.integrations.abdm``):
    ours by default, NHA's sandbox or production by configuration. Callback
    verification is always on; no setting turns it off."""

    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_ABDM_", extra="ignore")

    # e.g. https://dev.abdm.gov.in/api/hiecm; unset: this deployment's own gateway
    # (``base_url`` + /api/hiecm).
    gateway_url: str | None = None
    cm_id: str = "sbx"
    client_id: str = "healthstack-hmis"
    # The placeholder is refused outside development when the client first needs it
    # (a deployment that runs only the network side never does).
    client_secret: SecretStr = SecretStr(DEV_SECRET_PLACEHOLDER)
    timestamp_past_seconds: int = 600
    timestamp_future_seconds: int = 120
    call_max_attempts: int = 8
    http_timeout_seconds: float = 10.0


class ConsentSettings(BaseSettings):
    """The consent manager (``healthstack.network.consent``): linking and PHR waits."""

    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_CONSENT_", extra="ignore")

    # A link token lets one HIP link care contexts to one ABHA until it expires; the
    # LinkTokenService spec allows up to 6 months.
    link_token_days: int = 182
    # Wrong demographics in generate-token: after this many refusals for one ABHA in
    # 24 hours, further requests are refused with ABDM-1027 (blocked for 24 h), so a
    # HIP cannot probe names and birth years.
    link_token_failures_per_day: int = 5
    # How long the PHR waits for a HIP's answer to discover / link init / confirm
    # before telling the patient it did not answer (ABDM expects ~10 s).
    hip_answer_seconds: int = 30
    # Where the deep-link SMS points when the HIP gives no link (under base_url).
    phr_path: str = "/phr"
    # The patient's name must match the ABHA's this well (abha.search.name_score).
    name_match_score: float = 0.85
    # The PHR's own HIU (an application id, not a facility): the patient reads their own
    # records through it with purpose PATRQT. The CM grants such a self-request at once,
    # and only from this HIU; a facility may not ask with PATRQT.
    phr_hiu_id: str = "HEALTHSTACK-PHR"
    # How long the PHR keeps what it fetched for the patient (the consent's dataEraseAt).
    phr_keep_days: int = 30
    # How long the patient's proof of a self-request (X-AUTH-TOKEN) stays usable: long
    # enough for the facility side's outbox and the gateway's worker to carry it.
    self_request_proof_seconds: int = 600


# A server listening on every interface is reached locally on the loopback address.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 - names, not binds


def default_base_url(data: dict[str, Any]) -> str:
    host = str(data.get("host", "127.0.0.1"))
    host = "127.0.0.1" if host in _WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{data.get('port', 8000)}"


def default_database_url(data: dict[str, Any]) -> str:
    return f"sqlite:///{Path(data.get('data_dir', 'var')) / 'healthstack.db'}"


class AuthSettings(BaseSettings):
    """Staff sign-in (``healthstack.accounts``): browser sessions, the login throttle
    and the bound on concurrent password hashing (docs/adr/0012-staff-sessions.md)."""

    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_AUTH_", extra="ignore")

    # A browser session ends this long after login, or after this long unused.
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    session_idle_seconds: int = Field(default=4 * 3600, ge=60)
    # Wrong passwords in a row before a pause: per account (the username as typed) and
    # per client address (higher: a facility's staff share one address behind NAT).
    account_free_failures: int = Field(default=5, ge=1)
    address_free_failures: int = Field(default=20, ge=1)
    # The first pause; each further failure doubles it, up to the maximum.
    lockout_base_seconds: int = Field(default=30, ge=1)
    lockout_max_seconds: int = Field(default=900, ge=1)
    # A count is forgotten after this long without a failure (a success also clears the
    # account's count, never the address's: one valid account must not reset it).
    account_memory_seconds: int = Field(default=86400, ge=60)
    address_memory_seconds: int = Field(default=3600, ge=60)
    # Password checks (argon2, one core each) running at once in one server process;
    # 0: one less than the machine's cores (at least 1), so other requests keep a core.
    # With ``serve --workers N`` each process has its own bound: set it so that
    # N x this stays below the cores.
    hash_concurrency: int = Field(default=0, ge=0)
    # Logins waiting for a check beyond this many, or longer than this, are answered
    # 503 with Retry-After instead of holding a server thread.
    hash_max_waiting: int = Field(default=16, ge=0)
    hash_wait_seconds: float = Field(default=5.0, ge=0)
    # The checks run at this nice value (Linux), below the threads serving requests.
    hash_nice: int = Field(default=10, ge=0, le=19)
    # A refused login is answered after this delay (holding no thread), so a client
    # that ignores Retry-After sends a few attempts a second, not hundreds.
    refusal_delay_seconds: float = Field(default=1.0, ge=0, le=30)


# --------------------------------------------------------------------------- state profile

# The profile of a deployment that names none: Jammu and Kashmir.
DEFAULT_STATE_PROFILE = Path(__file__).parent / "profiles" / "jk.json"


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


class Bounds(BaseModel):
    """A box around the state: a facility's coordinates outside it are worth a second
    look (a warning, not a refusal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latitude: tuple[float, float]
    longitude: tuple[float, float]

    def holds(self, latitude: float, longitude: float) -> bool:
        (lat_lo, lat_hi), (lon_lo, lon_hi) = self.latitude, self.longitude
        return lat_lo <= latitude <= lat_hi and lon_lo <= longitude <= lon_hi


class District(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lgd: int = Field(ge=1, le=99999)
    name: str = Field(min_length=1, max_length=64)
    # Other spellings of the name that state lists use (a facility master, a roster).
    aliases: tuple[str, ...] = ()
    # The district's share of the state's target population goes by this count.
    census_population: int = Field(ge=0)


class StateProfile(BaseModel):
    """The state a deployment serves (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # What the file is and where its figures come from, for whoever edits it.
    notes: str = ""
    state_lgd: int = Field(ge=1, le=99)
    state_name: str = Field(min_length=1, max_length=64)
    # The population the ABHA targets aim at; each district's target is its share by
    # census population (``district_populations``).
    target_population: int = Field(ge=1)
    bounds: Bounds | None = None
    # In the order the demo generator and the reports take them.
    districts: tuple[District, ...] = Field(min_length=1)

    @field_validator("districts")
    @classmethod
    def _one_of_each(cls, districts: tuple[District, ...]) -> tuple[District, ...]:
        codes: dict[int, str] = {}
        names: dict[str, str] = {}
        for d in districts:
            if d.lgd in codes:
                raise ValueError(
                    f"the LGD code {d.lgd} is given to both {codes[d.lgd]} and {d.name}"
                )
            codes[d.lgd] = d.name
            for spelling in (d.name, *d.aliases):
                key = _name_key(spelling)
                if key in names and names[key] != d.name:
                    raise ValueError(
                        f"the name {spelling!r} stands for both {names[key]} and {d.name}"
                    )
                names[key] = d.name
        if not sum(d.census_population for d in districts):
            raise ValueError("every census_population is 0: the targets need the districts' shares")
        return districts

    @cached_property
    def _by_code(self) -> dict[int, District]:
        return {d.lgd: d for d in self.districts}

    @property
    def district_codes(self) -> frozenset[int]:
        return frozenset(self._by_code)

    @property
    def hfr_prefix(self) -> str:
        """How the HFR ids of the state's facilities start (``IN`` and the state code)."""
        return f"IN{self.state_lgd:02d}"

    def district(self, lgd: int | None) -> District | None:
        return self._by_code.get(lgd) if lgd is not None else None

    def district_name(self, lgd: int | None) -> str | None:
        found = self.district(lgd)
        return found.name if found is not None else None

    def district_choices(self) -> list[tuple[int, str]]:
        """(LGD code, name) of every district, by name: what a form's list offers."""
        return sorted(((d.lgd, d.name) for d in self.districts), key=lambda d: d[1])

    def spellings(self) -> Iterator[tuple[str, int]]:
        """(name or alias, LGD code) for every way the state's lists write a district."""
        for d in self.districts:
            for spelling in (d.name, *d.aliases):
                yield spelling, d.lgd

    def district_populations(self, total: int | None = None) -> tuple[int, ...]:
        """``total`` (default the target population) shared out over the districts, in
        their order, by census population; the largest remainders take the units left,
        so the shares always sum exactly to ``total``."""
        whole = self.target_population if total is None else total
        census = sum(d.census_population for d in self.districts)
        exact = [whole * d.census_population / census for d in self.districts]
        counts = [int(x) for x in exact]
        short = whole - sum(counts)
        by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
        for i in by_remainder[:short]:
            counts[i] += 1
        return tuple(counts)


class StateProfileError(ValueError):
    """A state profile file that cannot be used; the message names the file and the field."""


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def load_state_profile(path: Path) -> StateProfile:
    """The profile in the JSON file at ``path``, or ``StateProfileError``."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise StateProfileError(
            f"cannot read the state profile {path} ({exc.strerror or exc})"
        ) from None
    return _load_state_profile(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_state_profile(path: str, _mtime_ns: int, _size: int) -> StateProfile:
    # Keyed by the file's time and size too, so an edited file is read again.
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except OSError as exc:
        raise StateProfileError(
            f"cannot read the state profile {path} ({exc.strerror or exc})"
        ) from None
    except UnicodeDecodeError:
        raise StateProfileError(f"the state profile {path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StateProfileError(
            f"the state profile {path} is not JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    try:
        return StateProfile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise StateProfileError(
            f"the state profile {path} is not valid: {'; '.join(problems[:3])}{more}"
        ) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTHSTACK_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    # Unset: the SQLite file <data_dir>/healthstack.db, so moving the data directory
    # moves the database with its keys.
    database_url: str = Field(default_factory=lambda data: default_database_url(data))
    secret_key: SecretStr = SecretStr(DEV_SECRET_PLACEHOLDER)
    # Where `healthstack serve` and `demo` listen (their --host / --port win).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The address the gateway, the HIPs and the SMS links reach this deployment at.
    # Unset: http://<host>:<port>, so a server moved to another port keeps its exchange
    # reachable; behind a proxy or TLS, set it to the public https URL.
    base_url: str = Field(default_factory=lambda data: default_base_url(data))
    # Largest request body accepted (bytes): above the largest file an upload accepts
    # (the HR roster, 3 MB, plus the form's own bytes), so the upload's own message
    # explains a file too large.
    max_body_bytes: int = 3_200_000
    # Run the outbox relay inside `healthstack serve` (the embedded default).
    embedded_worker: bool = True
    worker_poll_seconds: float = 1.0
    # "sandbox": the offline Aadhaar KYC registry plays UIDAI.
    kyc_provider: str = "sandbox"
    sms_provider: str = "outbox"
    log_level: str = "INFO"
    # Development only: the whole deployment's clock runs this many days ahead, so a
    # demo shows what deadlines and scheduled jobs do weeks later. Refused in production.
    clock_offset_days: float = 0.0
    # The NRCeS ABDM FHIR IG definitions (folder, zip or npm tarball) that FHIR documents
    # are validated against; unset: the built-in core rules only. Never downloaded.
    fhir_ig_path: Path | None = None
    # The state this deployment serves (``StateProfile``): a JSON file like the shipped
    # profiles/jk.json. Unset: Jammu and Kashmir. Read when the settings are built.
    state_profile: Path | None = Field(default=None, validate_default=True)

    otp: OtpSettings = Field(default_factory=OtpSettings)
    abha: AbhaSettings = Field(default_factory=AbhaSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    abdm: AbdmSettings = Field(default_factory=AbdmSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    _profile: StateProfile = PrivateAttr()

    @field_validator("state_profile")
    @classmethod
    def _readable_profile(cls, path: Path | None) -> Path | None:
        load_state_profile(path or DEFAULT_STATE_PROFILE)  # refused here, named by its field
        return path

    @model_validator(mode="after")
    def _keep_profile(self) -> Settings:
        self._profile = load_state_profile(self.state_profile or DEFAULT_STATE_PROFILE)
        return self

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if (
            self.env is Environment.PRODUCTION
            and self.secret_key.get_secret_value() == DEV_SECRET_PLACEHOLDER
        ):
            raise ValueError(
                "HEALTHSTACK_SECRET_KEY must be set to a long random value in production"
            )
        if self.env is Environment.PRODUCTION and self.kyc_provider == "sandbox":
            raise ValueError(
                "the sandbox KYC provider plays UIDAI and is refused in production; "
                "set HEALTHSTACK_KYC_PROVIDER to a real adapter"
            )
        if self.env is Environment.PRODUCTION and self.clock_offset_days:
            raise ValueError(
                "HEALTHSTACK_CLOCK_OFFSET_DAYS moves the clock for demos and is refused in "
                "production; unset it"
            )
        return self

    @property
    def profile(self) -> StateProfile:
        """The state this deployment serves (``HEALTHSTACK_STATE_PROFILE``)."""
        return self._profile

    @property
    def is_development(self) -> bool:
        return self.env in (Environment.DEVELOPMENT, Environment.TEST)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def abha_suffix(self) -> str:
        return self.abha.cm_id

    @property
    def abdm_gateway_url(self) -> str:
        """Where the facility side reaches the ABDM gateway (no trailing slash)."""
        return (self.abdm.gateway_url or self.base_url.rstrip("/") + "/api/hiecm").rstrip("/")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def environment_variables() -> list[tuple[str, str]]:
    """Every environment variable the settings read, with its default as the README's
    configuration table shows it (``tests/unit/test_settings_docs.py`` holds the table to
    this list)."""
    out: list[tuple[str, str]] = []

    def walk(model: type[BaseSettings]) -> None:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseSettings):
                walk(kind)
                continue
            out.append((f"{prefix}{name}".upper(), _shown_default(name, field.default)))

    walk(Settings)
    return out


_COMPUTED_DEFAULTS = {
    "database_url": "sqlite:///<data_dir>/healthstack.db",
    "base_url": "http://<host>:<port>",
}


def _shown_default(name: str, default: object) -> str:
    if name in _COMPUTED_DEFAULTS:
        return _COMPUTED_DEFAULTS[name]
    if isinstance(default, SecretStr):
        return "development placeholder"
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, StrEnum):
        return default.value
    return str(default)
