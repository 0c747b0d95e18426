"""The activation email's link: a page that activates on a deliberate POST."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.bootstrap import Services
from app.persistence.activation import activate_pending


def activation_routes(services: Services) -> list[Route]:
    async def activate_page(request: Request) -> Response:
        """The activation email's link: a page that activates on a deliberate POST."""
        if request.method == "GET":
            token = html.escape(request.query_params.get("token", ""))
            return HTMLResponse(
                "<!doctype html><title>Activate your MitID Erhverv user</title>"
                "<h1>Activate your MitID Erhverv user</h1>"
                f'<form method="post"><input type="hidden" name="token" value="{token}">'
                "<button>Log in with private MitID and activate</button></form>"
            )
        form = await request.form()
        user = await activate_pending(services.engine, services.unit_of_work, services.platform.hash_token,
                                      token=str(form.get("token", "")), user_id=None, code=None)
        if user is None:
            return HTMLResponse("<h1>The link is invalid or has expired</h1>", status_code=400)
        return HTMLResponse("<h1>Your user is activated</h1>")

    return [Route("/activate", activate_page, methods=["GET", "POST"])]
