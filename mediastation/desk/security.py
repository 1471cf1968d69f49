"""Headers on every response (docs/desk.md "Security"), as ASGI middleware so streamed responses
(server-sent events, files) and error pages carry them too.

`default-src 'self'` with no inline script and nothing from outside: the desk's own script and
style are files under /static/. `frame-ancestors 'none'` and X-Frame-Options keep the desk out of
frames (clickjacking); `no-referrer` keeps request ids and HETUs in URLs from leaving in a Referer.
"""

from __future__ import annotations

from typing import Any

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000")
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    def __init__(self, app: Any, *, tls: bool = False) -> None:
        self.app = app
        self.extra = HEADERS + ((HSTS,) if tls else ())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [h for h in self.extra if h[0] not in names]
                if not static and b"cache-control" not in names:  # pages hold patient data: never cached
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
