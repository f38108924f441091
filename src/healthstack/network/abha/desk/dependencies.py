"""Who may use the registration desk's pages: the gate every desk page (and the desk's
enrolment) opens with."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import Response

from healthstack.accounts.permissions import allowed
from healthstack.kernel.context import Actor
from healthstack.web.pages import Page, staff_gate

# What the desk header's "can" flags are named after (``abha.<action>``).
DESK_ACTIONS = ("enrol", "enrol_demographic", "search", "verify", "card")
_ASK = (
    "Ask your facility admin or the state admin for the registration desk role, or log in "
    "with another account."
)


def desk_gate(
    pg: Page, staff: Actor | None, permissions: Iterable[str], *, what: str, start: str
) -> Actor | Response:
    """The staff member when any of ``permissions`` is theirs (``pg`` then renders the
    desk header); else the login redirect back to ``start`` or the 403 page."""
    gate = staff_gate(pg.request, staff, permissions, what=what, back=start, ask=_ASK)
    if isinstance(gate, Actor):
        pg.base = {"staff": gate, "can": {a: allowed(gate, f"abha.{a}") for a in DESK_ACTIONS}}
    return gate
