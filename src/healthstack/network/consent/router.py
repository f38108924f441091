"""The consent manager's protocol routes under ``/api/hiecm`` (NHA's base URL shape),
one per path in ``network.consent.handlers.ROUTES`` (thin: the services decide): each
checks the bridge's session token and headers, records the message and answers 202 with
an empty body (``network.gateway.accept``); the worker runs the handler and sends the
answer as a callback.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Response

from healthstack.network.consent.handlers import ROUTES, Route
from healthstack.network.gateway.accept import Accepted, accepting

router = APIRouter(prefix="/api/hiecm", tags=["consent-manager"])


# --------------------------------------------------------------------------- protocol


def _protocol_route(route: Route) -> Callable[..., Response]:
    dependency = accepting(route.path, requires=route.requires)

    # A default, not Annotated: the annotations of this module are strings, and one
    # naming the closure's dependency could not be resolved later.
    def endpoint(accepted: Accepted = Depends(dependency)) -> Response:  # noqa: B008
        return accepted.response()

    endpoint.__name__ = "cm_" + route.path.strip("/").replace("/", "_").replace("-", "_")
    endpoint.__doc__ = f"{route.summary}: accepted with 202; the answer comes as a callback" + (
        f" to {route.reply_path}." if route.reply_path else "."
    )
    return endpoint


for _route in ROUTES:
    router.add_api_route(
        _route.path,
        _protocol_route(_route),
        methods=["POST"],
        status_code=202,
        response_class=Response,
        summary=_route.summary,
    )
