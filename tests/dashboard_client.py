"""A merchant's browser on the dashboard, over real HTTP: cookies, CSRF tokens from the
last page, and our Origin on every POST (as Chromium sends it)."""
from __future__ import annotations

import re
from typing import Any

import requests

from tests.flow import csrf_token


class Dashboard:
    def __init__(self, base: str, origin: str | None = None) -> None:
        self.base = base
        self.origin = origin or base
        self.http = requests.Session()
        self.last = ""
        self.headers: dict[str, str] = {}

    def get(self, path: str, **params: str) -> requests.Response:
        response = self.http.get(self.base + path, params=params or None, allow_redirects=False, timeout=30,
                                 headers=self.headers)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last = response.text
        return response

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None,
             origin: str | None = "ours") -> requests.Response:
        token = csrf if csrf is not None else (csrf_token(self.last) if 'name="csrf_token"' in self.last else "")
        headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}
        if origin == "ours":
            headers["Origin"] = self.origin
        elif origin is not None:
            headers["Origin"] = origin
        body = {**({"csrf_token": token} if token else {}), **(data or {})}
        response = self.http.post(self.base + path, data=body, headers=headers, allow_redirects=False, timeout=60)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last = response.text
        return response

    def sign_in(self, api_key: str) -> requests.Response:
        self.get("/dashboard/login")
        response = self.post("/dashboard/login", {"api_key": api_key})
        assert response.status_code == 303, response.text[:500]
        return response

    def field(self, name: str) -> str:
        match = re.search(rf'name="{name}" value="([^"]*)"', self.last)
        assert match, f"no {name} field on the page"
        return match.group(1)

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("dashboard_session")


def set_cookie_headers(response: Any) -> list[str]:
    """Every Set-Cookie header of a response, as sent."""
    return list(response.raw.headers.getlist("Set-Cookie"))
