"""The confirmation mail's link: a page that confirms the request for a user account on a deliberate
POST (mail scanners fetch links; a GET alone never confirms)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.bootstrap import Services
from app.persistence.account_requests import confirm_request
from app.schema.account_requests import CONFIRM_PATH

_TITLE = "Confirm your request for a MitID Erhverv user"


def account_request_routes(services: Services) -> list[Route]:
    async def confirm_page(request: Request) -> Response:
        if request.method == "GET":
            token = html.escape(request.query_params.get("token", "")[:200])
            return HTMLResponse(
                f"<!doctype html><title>{_TITLE}</title><h1>{_TITLE}</h1>"
                "<p>Your organisation's user administrators see the request once you confirm it.</p>"
                f'<form method="post"><input type="hidden" name="token" value="{token}">'
                "<button>Confirm the request</button></form>"
            )
        form = await request.form()
        confirmed = await confirm_request(services.engine, services.unit_of_work, services.platform.hash_token,
                                          str(form.get("token", "")))
        if not confirmed:
            return HTMLResponse("<h1>The link is invalid, used or has expired</h1>", status_code=400)
        return HTMLResponse("<h1>Your request is confirmed</h1><p>Your organisation's user administrators "
                            "will approve or reject it; you will hear from them by mail.</p>")

    return [Route(CONFIRM_PATH, confirm_page, methods=["GET", "POST"])]
