"""The unit of work: one session, committed when the block ends well, rolled back when
it raises (unless the error says ``commit_anyway``), and the failure audited either way
(``kernel.audit.persist_failed``). Out of ``kernel.db`` so that the audit, which needs
the tables' base, and the unit of work, which needs the audit, import in one direction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from healthstack.kernel.audit import persist_failed


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        # A few domain errors must keep what was recorded before them (a wrong OTP
        # counts as a try); they say so with ``commit_anyway``.
        if getattr(exc, "commit_anyway", False):
            session.commit()
        else:
            session.rollback()
        persist_failed(factory, exc)
        raise
    finally:
        session.close()
