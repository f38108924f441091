"""The API docs pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served whole from
this deployment: the libraries from an installed wheel (``web/vendor.py``), their start
from a static script of ours (``static/apidocs.js``), so the pages work offline and
under the strict Content-Security-Policy (no inline script). They replace FastAPI's
own pages, which load both from a public CDN with an inline script."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from healthstack.web.middleware import content_security_policy
from healthstack.web.pages import render
from healthstack.web.vendor import serve, tag

router = APIRouter(include_in_schema=False)

# Swagger UI works under the pages' policy as it is. ReDoc adds <style> elements of its
# own at run time (styled-components and its bundled stylesheets), so that page, and
# only that one, allows inline styles, and it builds its search index in a web worker
# made from a blob: URL; its scripts stay 'self' only, with no eval.
SWAGGER_CSP = content_security_policy()
REDOC_CSP = content_security_policy(inline_styles=True, blob_workers=True)


def _page(request: Request, template: str, csp: str, *assets: str) -> HTMLResponse:
    tags = {name: tag(name) for name in assets}
    response = render(
        request,
        template,
        status_code=200 if all(tags.values()) else 503,
        openapi_url=request.app.openapi_url,
        title=request.app.title,
        tags=tags,
    )
    response.headers["Content-Security-Policy"] = csp
    return response


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(
        request, "apidocs/swagger.html", SWAGGER_CSP, "swagger-ui-bundle.js", "swagger-ui.css"
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return _page(request, "apidocs/redoc.html", REDOC_CSP, "redoc.standalone.js")


@router.get("/redoc/logo-mini.svg")
def redoc_logo(request: Request) -> Response:
    return serve("redoc-logo-mini.svg", request)
