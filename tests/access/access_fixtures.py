"""A small app guarded by AccessControl, a movable clock, and sign-in helpers for the access tests."""
# No "from __future__ import annotations": FastAPI must see the Annotated dependencies,
# which name a local AccessControl, as objects rather than strings.

import re
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.access import AccessControl, Role, User, add_user
from seamline.store import metadata

PASSWORD = "correct horse battery staple"
KEYS = {"k-viewer": Role.VIEWER, "k-reviewer": Role.REVIEWER, "k-admin": Role.ADMIN}


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def add_people(store) -> None:
    for name, role in (("vera", Role.VIEWER), ("rita", Role.REVIEWER), ("adam", Role.ADMIN)):
        add_user(store, name, PASSWORD, role, actor="test")


def guarded_app(store, **kwargs) -> tuple[FastAPI, AccessControl, list[str]]:
    """An app with one page per role, a form post and a JSON route; ``done`` records effects."""
    kwargs.setdefault("api_keys", KEYS)
    access = AccessControl(store, **kwargs)
    app = FastAPI()
    access.install(app)
    done: list[str] = []

    @app.get("/review")
    async def review(request: Request, user: Annotated[User, Depends(access.page(Role.REVIEWER))]):
        token = access.csrf_token(request)
        return HTMLResponse(f'<p>{user.username}</p><form method="post" action="/review/do">'
                            f'<input type="hidden" name="csrf_token" value="{token}"></form>')

    @app.post("/review/do", dependencies=[Depends(access.check_csrf)])
    async def review_do(user: Annotated[User, Depends(access.page(Role.REVIEWER))]):
        done.append(user.username)
        return {"done": user.username}

    @app.get("/admin")
    async def admin(user: Annotated[User, Depends(access.page(Role.ADMIN))]):
        return HTMLResponse(f"<p>admin {user.username}</p>")

    @app.get("/api/whoami")
    async def whoami(user: Annotated[User, Depends(access.api(Role.VIEWER))]):
        return {"username": user.username, "role": user.role.value, "via": user.via}

    @app.post("/api/act")
    async def act(user: Annotated[User, Depends(access.api(Role.REVIEWER))]):
        done.append(user.username)
        return {"done": user.username}

    return app, access, done


def client(app, *, secure: bool = True, ip: str = "10.0.0.1") -> TestClient:
    base = "https://testserver" if secure else "http://testserver"
    return TestClient(app, base_url=base, follow_redirects=False, client=(ip, 50000))


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(c: TestClient, username: str, password: str = PASSWORD, next_path: str = "/review"):
    token = form_token(c.get("/login").text)
    return c.post("/login", data={"username": username, "password": password,
                                  "csrf_token": token, "next": next_path})


def row_counts(store) -> dict[str, int]:
    """Rows per table: 'nothing changed' means these are equal before and after."""
    with store.read() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in metadata.tables.items()}
