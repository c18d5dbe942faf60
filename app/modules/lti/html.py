"""The auto-submitting form pages of the launch flow: a strict Content-Security-Policy (one
nonce'd script, posting only to the given origin), never cached."""

from __future__ import annotations

import secrets
from html import escape
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def auto_submit_form(action: str, params: dict[str, str]) -> HTMLResponse:
    """A page that POSTs `params` to `action` as soon as it loads (a button without script)."""
    nonce = secrets.token_urlsafe(16)
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in params.items()
    )
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Launching…</title></head>'
        f'<body><form id="lti" method="post" action="{escape(action)}">{fields}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        f'<script nonce="{nonce}">document.getElementById("lti").submit();</script>'
        "</body></html>"
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; form-action 'self' {_origin(action)}; "
        "base-uri 'none'; frame-ancestors 'self'"
    )
    return HTMLResponse(
        body,
        headers={
            **NO_STORE,
            "Content-Security-Policy": csp,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )
