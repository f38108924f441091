"""Who may use the registration desk's pages: the gate every desk page (and the desk's
enrolment) opens with."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import Response

from healthstack.kernel.context import Actor
from healthstack.web.pages import Page

# The desk header's flags: what the staff member may do at the desk.
_CAN = {a: f"abha.{a}" for a in ("enrol", "enrol_demographic", "search", "verify", "card")}
_ASK = (
    "Ask your facility admin or the state admin for the registration desk role, or log in "
    "with another account."
)


def desk_gate(
    pg: Page, staff: Actor | None, permissions: Iterable[str], *, what: str, start: str
) -> Actor | Response:
    """The staff member when any of ``permissions`` is theirs (``pg`` then renders the
    desk header); else the login redirect back to ``start`` or the 403 page."""
    refused = pg.admit(staff, permissions, what=what, back=start, ask=_ASK, can=_CAN)
    return refused if refused is not None else pg.who
