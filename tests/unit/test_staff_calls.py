"""The bundles the staff routes take (``web.login.StaffCall``, ``admin.staff.AdminCall``):
the caller checked against the permission matrix once, and the audit context of the
request built for them."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from healthstack.admin.staff import AdminCall
from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.context import Actor, ActorKind, Purpose, Role
from healthstack.kernel.errors import AuthenticationRequired, PermissionDenied
from healthstack.web.login import StaffCall

RID = "839ede87-6bad-48df-a0d5-e93305c88e75"
DOCTOR = Actor(kind=ActorKind.STAFF, id="d1", role=Role.DOCTOR, facility_id="IN0110000001")
ADMIN = Actor(kind=ActorKind.STAFF, id="a1", role=Role.STATE_ADMIN)


def _request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/admin/staff",
            "headers": [(b"request-id", RID.encode())],
            "client": ("10.0.0.7", 5000),
        }
    )


def _call(staff: Actor | None) -> StaffCall:
    return StaffCall(_request(), None, staff, FrozenClock())  # type: ignore[arg-type]


def test_nobody_is_asked_to_log_in_and_a_role_without_the_right_is_refused():
    with pytest.raises(AuthenticationRequired):
        _call(None).actor("account.self")
    with pytest.raises(PermissionDenied):
        _call(DOCTOR).actor("staff.manage")
    assert _call(ADMIN).actor("staff.manage") is ADMIN


def test_the_context_is_the_callers_on_this_request():
    ctx = _call(ADMIN).context(ADMIN)
    assert ctx.actor is ADMIN and ctx.purpose is Purpose.ADMINISTRATION
    assert ctx.request_id == RID and ctx.ip == "10.0.0.7"


def test_an_admin_call_is_a_staff_call_with_the_directory():
    directory = object()
    call = AdminCall(_request(), None, ADMIN, FrozenClock(), directory)  # type: ignore[arg-type]
    assert isinstance(call, StaffCall) and call.directory is directory
    assert call.actor("staff.create") is ADMIN
