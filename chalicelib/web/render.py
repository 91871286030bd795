"""HTML rendering: one Jinja2 environment per container, content-hashed static files.

``templates/`` and ``static/`` sit beside ``app.py``: in the repository, and in the
Lambda package, where ``vendor/templates`` and ``vendor/static`` (symlinks that
Chalice follows) put them at the root of the zip next to ``app.py``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from chalicelib.config import PROJECT_DIR

TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@dataclass
class Html:
    """A rendered page; the web layer turns it into a response with its CSP nonce."""

    body: str
    nonce: str
    status: int = 200
    form_action: tuple[str, ...] = ()
    cacheable: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # tojson for data attributes: Hangul as itself (a third of the bytes of \uXXXX escapes).
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_SPACE = re.compile(r"\s*([{};,>])\s*")
_LEADING_COMMENT = re.compile(r"\A/\*.*?\*/\s*", re.S)
_HTML_INDENT = re.compile(r"\n\s+")


def compact(source: str, suffix: str) -> str:
    """What is served of a static file: its comments and indentation dropped (the page-weight budget).

    Deliberately simple, so it cannot change meaning: CSS loses comments and the white space
    around punctuation; JavaScript loses its opening comment, indentation and lines that are
    only a ``//`` comment (line breaks stay, so no statement is joined to the next).
    """
    if suffix == ".css":
        return _CSS_SPACE.sub(r"\1", _CSS_COMMENT.sub("", source)).strip() + "\n"
    if suffix == ".js":
        lines = (line.strip() for line in _LEADING_COMMENT.sub("", source).splitlines())
        return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"
    return source


@cache
def _served(path: Path) -> bytes:
    if path.suffix in (".css", ".js"):
        return compact(path.read_text(encoding="utf-8"), path.suffix).encode()
    return path.read_bytes()


@lru_cache(maxsize=1)
def static_manifest() -> dict[str, str]:
    """Logical name -> hashed name (of the bytes served), e.g. checkout.css -> checkout.3f2a1b9c0d.css."""
    manifest = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file() and path.suffix in STATIC_TYPES:
            digest = hashlib.sha256(_served(path)).hexdigest()[:10]
            manifest[path.name] = f"{path.stem}.{digest}{path.suffix}"
    return manifest


@lru_cache(maxsize=1)
def _static_by_hashed_name() -> dict[str, Path]:
    return {hashed: STATIC_DIR / name for name, hashed in static_manifest().items()}


def static_file(hashed_name: str) -> tuple[bytes, str] | None:
    path = _static_by_hashed_name().get(hashed_name)
    if path is None:
        return None
    return _served(path), STATIC_TYPES[path.suffix]


def render(template: str, context: dict[str, Any], status: int = 200, form_action: tuple[str, ...] = ()) -> Html:
    nonce = secrets.token_urlsafe(18)
    base = context.get("base", "")

    def static_url(name: str) -> str:
        return f"{base}/static/{static_manifest()[name]}"

    body = environment().get_template(template).render(
        **context, csp_nonce=nonce, static_url=static_url
    )
    # Template indentation is for people, not for the page-weight budget; a page whose white
    # space means something (<pre>, <textarea>) is left as it is.
    if "<pre" not in body and "<textarea" not in body:
        body = _HTML_INDENT.sub("\n", body)
    return Html(body=body, nonce=nonce, status=status, form_action=form_action)


def template_path(name: str) -> Path:
    return Path(TEMPLATES_DIR) / name
