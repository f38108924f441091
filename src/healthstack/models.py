"""Every table, imported in one place so Alembic and ``create_all`` see them all."""

from healthstack.accounts import models as accounts_models  # noqa: F401
from healthstack.facility.records import models as records_models  # noqa: F401
from healthstack.identity import models as identity_models  # noqa: F401
from healthstack.integrations.aadhaar import models as aadhaar_models  # noqa: F401
from healthstack.integrations.abdm import models as abdm_models  # noqa: F401
from healthstack.kernel import audit, audit_chain, outbox  # noqa: F401
from healthstack.kernel.db import Base
from healthstack.network.abha import models as abha_models  # noqa: F401
from healthstack.network.consent import models as consent_models  # noqa: F401
from healthstack.network.gateway import models as gateway_models  # noqa: F401
from healthstack.network.hfr import models as facilities_models  # noqa: F401
from healthstack.network.hpr import models as professionals_models  # noqa: F401
from healthstack.programme.compliance import models as compliance_models  # noqa: F401
from healthstack.programme.monitoring import models as monitoring_models  # noqa: F401

metadata = Base.metadata
