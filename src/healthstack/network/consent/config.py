"""The consent manager's settings: ``Settings.consent`` (env prefix
``HEALTHSTACK_CONSENT_``, defined in ``healthstack.settings`` with the others)."""

from __future__ import annotations

from healthstack.runtime import Runtime
from healthstack.settings import ConsentSettings


def consent_settings(runtime: Runtime) -> ConsentSettings:
    return runtime.settings.consent
