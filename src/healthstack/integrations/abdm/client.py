"""The ``AbdmClient`` port and its adapters.

``HttpAbdmClient`` speaks to a gateway at ``base_url`` (``.../api/hiecm``): it takes a
session from ``/gateway/v3/sessions`` with the bridge's client credentials, keeps the
token until a minute before it expires, refreshes it with the refresh token (or starts
over), and sends each call with Authorization, REQUEST-ID, TIMESTAMP (UTC, ms, Z),
X-CM-ID and the caller's X-HIP-ID / X-HIU-ID / X-LINK-TOKEN. A 401 is retried once with
a fresh session. ``FakeAbdmClient`` records calls instead (the outbox's tests).

``gateway_client(settings, clock=..., transport=...)`` builds the ``HttpAbdmClient``
the settings describe, on ``transport`` (tests: ``httpx.MockTransport`` or an ASGI
transport; None: real HTTP). One process keeps one (``Runtime.abdm_client``), so one
token cache serves the worker and the request threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import ServiceUnavailable
from healthstack.settings import DEV_SECRET_PLACEHOLDER, Settings

# The gateway's answer to a REQUEST-ID it accepted before with the same body
# (gateway/exceptions.py).
ALREADY_ACCEPTED = "ABDM-1113"


class AbdmCallFailed(Exception):
    """The call may succeed later (gateway down, 5xx, 429, 401 after a fresh session)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class AbdmCallRejected(AbdmCallFailed):
    """The gateway refused the call (400, 403, 404, 409...): sending it again won't help."""


def stamp(at: datetime) -> str:
    """ABDM's TIMESTAMP form: UTC, milliseconds, Z."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class AbdmClient(Protocol):
    def send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        request_id: str | None = None,
    ) -> str:
        """POST ``body`` to the gateway's ``path`` (e.g. /v3/token/generate-token) with
        the protocol headers plus ``headers``; returns the REQUEST-ID. Raises
        ``AbdmCallRejected`` (permanent) or ``AbdmCallFailed`` (try again later)."""
        ...

    def session_token(self, *, fresh: bool = False) -> str:
        """The bridge's gateway session token (a HIP sends it on its data push);
        ``fresh`` asks the gateway for a new one. Raises ``AbdmCallFailed``."""
        ...


def _error_code(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code)[:32] if code else None


class HttpAbdmClient:
    """Thread-safe: the token cache is shared by the worker and request threads."""

    REFRESH_MARGIN = timedelta(seconds=60)

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        cm_id: str,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.cm_id = cm_id
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._access: tuple[str, datetime] | None = None
        self._refresh: tuple[str, datetime] | None = None
        self.sessions_taken = 0  # how often a session was asked for (tests, diagnostics)

    # ----------------------------------------------------------------- session

    def _session(self, body: dict[str, Any]) -> str:
        now = self._clock.now()
        try:
            response = self._http.post(f"{self.base_url}/gateway/v3/sessions", json=body)
        except httpx.HTTPError as exc:
            raise AbdmCallFailed(f"gateway unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise AbdmCallFailed(
                f"the gateway refused a session (HTTP {response.status_code}); check "
                "HEALTHSTACK_ABDM_CLIENT_ID and HEALTHSTACK_ABDM_CLIENT_SECRET",
                status=response.status_code,
                code=_error_code(response),
            )
        data = response.json()
        self.sessions_taken += 1
        self._access = (data["accessToken"], now + timedelta(seconds=int(data["expiresIn"])))
        if data.get("refreshToken"):
            ttl = int(data.get("refreshExpiresIn") or 0)
            self._refresh = (data["refreshToken"], now + timedelta(seconds=ttl))
        return str(data["accessToken"])

    def session_token(self, *, fresh: bool = False) -> str:
        with self._lock:
            now = self._clock.now()
            if not fresh and self._access and now < self._access[1] - self.REFRESH_MARGIN:
                return self._access[0]
            if not fresh and self._refresh and now < self._refresh[1] - self.REFRESH_MARGIN:
                try:
                    return self._session(
                        {
                            "clientId": self.client_id,
                            "grantType": "refresh_token",
                            "refreshToken": self._refresh[0],
                        }
                    )
                except AbdmCallFailed:
                    self._refresh = None  # start over with the client credentials
            return self._session(
                {
                    "clientId": self.client_id,
                    "clientSecret": self._secret,
                    "grantType": "client_credentials",
                }
            )

    # ----------------------------------------------------------------- calls

    def send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        request_id: str | None = None,
    ) -> str:
        rid = request_id or str(uuid.uuid4())
        token = self.session_token()
        for attempt in (1, 2):
            response = self._post(path, body, headers, rid, token)
            if response.status_code == 401 and attempt == 1:
                token = self.session_token(fresh=True)
                continue
            break
        status = response.status_code
        if 200 <= status < 300:
            return rid
        code = _error_code(response)
        if status == 409 and code == ALREADY_ACCEPTED:
            # A try whose 202 was lost on the way back: the gateway has this very call
            # (same REQUEST-ID and body) and answers it once, on the callback URL.
            return rid
        if status in (401, 408, 425, 429) or status >= 500:
            raise AbdmCallFailed(f"the gateway answered HTTP {status}", status=status, code=code)
        raise AbdmCallRejected(
            f"the gateway refused the call (HTTP {status})", status=status, code=code
        )

    def _post(
        self, path: str, body: Mapping[str, Any], extra: Mapping[str, str], rid: str, token: str
    ) -> httpx.Response:
        headers = {
            **{k: v for k, v in extra.items() if v},
            "Authorization": f"Bearer {token}",
            "REQUEST-ID": rid,
            "TIMESTAMP": stamp(self._clock.now()),
            "X-CM-ID": self.cm_id,
        }
        try:
            return self._http.post(f"{self.base_url}{path}", json=dict(body), headers=headers)
        except httpx.HTTPError as exc:
            raise AbdmCallFailed(f"gateway unreachable: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._http.close()


@dataclass
class SentCall:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    request_id: str


@dataclass
class FakeAbdmClient:
    """Records what would be sent; ``fail_with`` makes the next sends raise it."""

    sent: list[SentCall] = field(default_factory=list)
    fail_with: AbdmCallFailed | None = None

    def send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        request_id: str | None = None,
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        rid = request_id or str(uuid.uuid4())
        self.sent.append(SentCall(path, dict(body), dict(headers), rid))
        return rid

    def session_token(self, *, fresh: bool = False) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        return "fake-session-token"


# Where ``healthstack demo`` keeps the random secret it registered its bridge with.
DEMO_SECRET_FILE = "demo-bridge-secret"  # noqa: S105 - a file name


def demo_secret_path(settings: Settings) -> Path:
    return settings.data_dir / DEMO_SECRET_FILE


def client_secret(settings: Settings) -> str:
    """The bridge's client secret: ``HEALTHSTACK_ABDM_CLIENT_SECRET``; left at the
    placeholder in development, the one the demo generated (``demo``), when
    there is one. Outside development the placeholder stays (and is refused)."""
    secret = settings.abdm.client_secret.get_secret_value()
    if secret != DEV_SECRET_PLACEHOLDER or not settings.is_development:
        return secret
    try:
        return demo_secret_path(settings).read_text(encoding="utf-8").strip() or secret
    except FileNotFoundError:
        return secret


def gateway_client(
    settings: Settings, *, clock: Clock, transport: httpx.BaseTransport | None = None
) -> HttpAbdmClient:
    """The client of the gateway ``settings`` name, with the bridge's credentials.
    Raises ``ServiceUnavailable`` (HS-1900) when the secret is still the placeholder
    outside development."""
    cfg = settings.abdm
    secret = client_secret(settings)
    if secret == DEV_SECRET_PLACEHOLDER and not settings.is_development:
        raise ServiceUnavailable(
            "The ABDM gateway client has no secret. Set HEALTHSTACK_ABDM_CLIENT_ID and "
            "HEALTHSTACK_ABDM_CLIENT_SECRET to the bridge credentials the gateway issued.",
            code="HS-1900",
        )
    return HttpAbdmClient(
        base_url=settings.abdm_gateway_url,
        client_id=cfg.client_id,
        client_secret=secret,
        cm_id=cfg.cm_id,
        clock=clock,
        transport=transport,
        timeout=cfg.http_timeout_seconds,
    )
