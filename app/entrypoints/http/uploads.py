"""The upload guard: multipart requests checked before their body is read."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.adapters.jwt import AuthError, bearer_token


class UploadGuard:
    """Multipart requests (file uploads) must be authenticated by header, which no cross-site form
    can send (CSRF), with a token that verifies (signature and claims: the app's TokenVerifier,
    found on `app.state.services`), and no larger than the import cap; all refused before the body
    is read. (The person's status is checked by the operation itself: no database here.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if headers.get("content-type", "").startswith("multipart/"):
                refusal = self._refusal(scope, headers)
                if refusal is not None:
                    await _error(scope, receive, send, *refusal)
                    return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        token = bearer_token(headers.get("authorization"))
        if token is None:
            return 401, "UNAUTHENTICATED", "Uploads need an Authorization header"
        try:
            scope["app"].state.services.verifier.verify(token)
        except AuthError as exc:
            return 401, "UNAUTHENTICATED", exc.message
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes + 64 * 1024:
            return 413, "FILE_TOO_LARGE", f"The upload is larger than {self.max_bytes // (1024 * 1024)} MB"
        return None


async def _error(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    await JSONResponse(body, status_code=status)(scope, receive, send)
