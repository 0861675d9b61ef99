"""The few pages `campaigns web` shows itself: sign in, and "every tab is taken"."""

from __future__ import annotations

import html

from aiohttp import web

_STYLE = """
body { background: #0c181f; color: #e8eef2; font: 16px/1.5 menlo, monospace;
       display: flex; align-items: center; justify-content: center; height: 100vh; margin: 0; }
main { background: #12232d; padding: 32px 40px; max-width: 560px; }
h1 { font-size: 20px; margin-top: 0; }
input, button { font: inherit; padding: 6px 10px; }
button { background: #5e0ba7; color: #fff; border: none; cursor: pointer; }
.wrong { color: #ff8a80; }
"""


def _page(title: str, body: str, status: int) -> web.Response:
    text = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return web.Response(
        status=status,
        text=text,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def sign_in(*, status: int, wrong: bool = False) -> web.Response:
    """The page for a request without the token or the cookie it earns."""
    note = "<p class='wrong'>That is not the token or the password.</p>" if wrong else ""
    body = (
        f"{note}<p>This Campaign Console needs its token: open the address that "
        "<code>campaigns web</code> printed when it started (it ends in "
        "<code>?token=…</code>), or give the token or the password here.</p>"
        "<form method='post' action='/login'>"
        "<input type='password' name='password' autofocus autocomplete='current-password' "
        "aria-label='token or password'> <button type='submit'>Sign in</button></form>"
    )
    return _page("Campaign Console: sign in", body, status)


def full_text(max_sessions: int) -> str:
    many = max_sessions != 1
    return (
        f"This server allows {max_sessions} session{'s' if many else ''} at once "
        f"(--max-sessions), and {'all are' if many else 'it is'} in use. Close another tab "
        "of it, or wait for an idle one to time out, then reload this page."
    )


def full(max_sessions: int) -> web.Response:
    """The page for the tab past --max-sessions: no app process is started for it."""
    return _page("Campaign Console: no free session", f"<p>{full_text(max_sessions)}</p>", 503)
