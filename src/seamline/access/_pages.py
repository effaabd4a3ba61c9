"""The few HTML pages access control answers itself: the sign-in form and refusals.

Plain, accessible HTML (labels, a live error region, no script); everything interpolated
is escaped.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

# No script, no framing, forms post only here: the sign-in page is the one a phisher copies.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;
line-height:1.5;color:#111}
label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}
[role=alert]{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecef}
"""


def html_page(title: str, body: str, status: int = 200,
              headers: dict[str, str] | None = None) -> HTMLResponse:
    text = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} · Seamline</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
    return HTMLResponse(text, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def login_page(*, csrf_token: str, next_path: str, username: str = "", error: str = "",
               status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    alert = (f'<p role="alert" id="login-error">{escape(error)}</p>' if error else "")
    described = ' aria-describedby="login-error"' if error else ""
    body = (f"<h1>Sign in to Seamline</h1>{alert}"
            f'<form method="post" action="/login"{described}>'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="next" value="{escape(next_path)}">'
            f'<label for="username">Username</label>'
            f'<input id="username" name="username" autocomplete="username" required '
            f'autofocus value="{escape(username)}">'
            f'<label for="password">Password</label>'
            f'<input id="password" name="password" type="password" '
            f'autocomplete="current-password" required>'
            f'<button type="submit">Sign in</button></form>')
    return html_page("Sign in", body, status, headers)


def refusal_page(status: int, sentence: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    title = {401: "Sign-in needed", 403: "Not allowed", 429: "Too many attempts"}.get(
        status, "Refused")
    body = f"<h1>{escape(title)}</h1><p>{escape(sentence)}</p><p><a href=\"/\">Home</a></p>"
    return html_page(title, body, status, headers)
