"""What the endpoint answers with: the pixel, the few small pages, and their headers. No page
holds anything taken from the request, so nothing a client sends is ever echoed back."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from starlette.responses import HTMLResponse, Response

# A 1x1 transparent GIF (GIF89a, one colour, transparency on): 43 bytes.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
}


def location(url: str) -> str:
    """A saved link as a Location header: an ASCII one byte for byte (Starlette's
    RedirectResponse would percent-encode `{`, `|`, `^`, `"` and the like, changing it); one
    with other characters as its URI: the host in IDNA, the rest percent-encoded UTF-8."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        ascii_host = quote(host, safe="")
    netloc = parts.netloc.replace(host, ascii_host, 1) if host else parts.netloc
    rest = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    return f"{parts.scheme}://{_percent(netloc)}{_percent(rest)}"


def _percent(text: str) -> str:
    return "".join(c if c.isascii() else quote(c, safe="") for c in text)


def redirect(url: str) -> Response:
    return Response(status_code=302, headers={"location": location(url), **NO_STORE})


# Built once: a Response only sends its body and headers, so every request can share it.
_PIXEL_RESPONSE = Response(PIXEL, media_type="image/gif", headers=NO_STORE)


def pixel() -> Response:
    return _PIXEL_RESPONSE


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;"
        "padding:0 1em;line-height:1.5}button{font-size:1em;padding:.5em 1.2em}</style>"
        f"</head><body>{body}</body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def not_found() -> HTMLResponse:
    return _page(
        "Link not found",
        "<h1>Link not found</h1><p>This link is not valid, or no longer is.</p>",
        404,
    )


def unavailable() -> HTMLResponse:
    return _page(
        "Try again shortly",
        "<h1>Try again shortly</h1><p>This service is busy for a moment. Please try again.</p>",
        503,
    )


def confirm_unsubscribe() -> HTMLResponse:
    # action="": the form posts back to this very URL, token and all.
    return _page(
        "Unsubscribe",
        "<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>"
        '<form method="post" action="">'
        '<input type="hidden" name="confirm" value="yes">'
        '<button type="submit">Unsubscribe</button></form>',
    )


def unsubscribed() -> HTMLResponse:
    return _page(
        "Unsubscribed",
        "<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>",
    )


def bad_request(what: str) -> HTMLResponse:
    # `what` is ours, never the request's.
    return _page("Bad request", f"<h1>Bad request</h1><p>{what}</p>", 400)
