"""HTML rendering: one Jinja2 environment per container, content-hashed static files.

``templates/`` and ``static/`` sit beside ``app.py``: in the repository, and in the
Lambda package, where ``vendor/templates`` and ``vendor/static`` (symlinks that
Chalice follows) put them at the root of the zip next to ``app.py``.

The package also carries the templates compiled to Python (``make package`` runs
``tools/compile_templates.py`` into ``vendor/compiled_templates``), which spares a
cold start Jinja2's parse and code generation. They are used only when their
manifest names exactly the templates beside them (same names, same SHA-256);
otherwise, as in local development, the templates are compiled from source.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from chalicelib.config import PROJECT_DIR
from chalicelib.lifetime import container_lifetime

TEMPLATES_DIR = PROJECT_DIR / "templates"
COMPILED_DIR = PROJECT_DIR / "compiled_templates"
COMPILED_MANIFEST = "manifest.json"
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


def source_digests(templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    """Template name -> SHA-256 of its source: what a compiled set must have been made from."""
    return {path.relative_to(templates_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(templates_dir.rglob("*.html"))}


def compiled_is_current(compiled_dir: Path = COMPILED_DIR, templates_dir: Path = TEMPLATES_DIR) -> bool:
    try:
        manifest = json.loads((compiled_dir / COMPILED_MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("templates") == source_digests(templates_dir)


def make_environment(loader: Any) -> Any:
    """The one Jinja2 configuration, for any loader (the compiler uses it too)."""
    from jinja2 import Environment, select_autoescape

    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
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
def environment() -> Any:
    with container_lifetime():
        from jinja2 import FileSystemLoader, ModuleLoader

        if compiled_is_current():
            return make_environment(ModuleLoader(str(COMPILED_DIR)))
        return make_environment(FileSystemLoader(str(TEMPLATES_DIR)))


@lru_cache(maxsize=32)
def template(name: str) -> Any:
    """A template, loaded once per container."""
    return environment().get_template(name)


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


@lru_cache(maxsize=16)
def static_file(hashed_name: str) -> tuple[bytes, str] | None:
    """A static file's bytes and type, read once per container (its name carries its hash)."""
    path = _static_by_hashed_name().get(hashed_name)
    if path is None:
        return None
    return _served(path), STATIC_TYPES[path.suffix]


# What would end an inlined file's element early (or, in a script, change how it is parsed).
_CLOSES_STYLE = re.compile(r"</")
_CLOSES_SCRIPT = re.compile(r"</script|<!--|<script", re.I)


@cache
def inline_style(name: str) -> Any:
    """A stylesheet's served text, for a ``<style nonce>`` in the page (one API Gateway request
    less per page than a ``<link>``); read once per container."""
    return _inline(name, _CLOSES_STYLE)


@cache
def inline_script(name: str) -> Any:
    """A script's served text, for a ``<script nonce>`` in the page (one API Gateway request
    less per page view than a file); read once per container. Its SHA-256 is in the script
    inventory (docs/script-inventory.json), which the tests hold it to."""
    return _inline(name, _CLOSES_SCRIPT)


def _inline(name: str, closes: re.Pattern[str]) -> Any:
    from markupsafe import Markup

    text = _served(STATIC_DIR / name).decode()
    found = closes.search(text)
    if found:
        raise ValueError(f"{name} cannot be inlined: it contains {found.group(0)!r}")
    return Markup(text)  # noqa: S704 - our own file, checked above not to leave its element


def render(name: str, context: dict[str, Any], status: int = 200, form_action: tuple[str, ...] = ()) -> Html:
    nonce = secrets.token_urlsafe(18)
    return Html(body=_render_body(name, context, nonce), nonce=nonce, status=status, form_action=form_action)


def _render_body(name: str, context: dict[str, Any], nonce: str) -> str:
    base = context.get("base", "")

    def static_url(name: str) -> str:
        return f"{base}/static/{static_manifest()[name]}"

    body: str = template(name).render(**context, csp_nonce=nonce, static_url=static_url, inline_style=inline_style,
                                          inline_script=inline_script)
    # Template indentation is for people, not for the page-weight budget; a page whose white
    # space means something (<pre>, <textarea>) is left as it is.
    if "<pre" not in body and "<textarea" not in body:
        body = _HTML_INDENT.sub("\n", body)
    return body


# A rendered page kept per container, with marks where its per-response values go.
_MARK = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
_NONCE_MARK = f"N{_MARK}N"
_SHARED_SIZE = 256
_shared: dict[Any, str] = {}
_shared_lock = threading.Lock()


def _fresh_mark(name: str) -> str:
    return f"F{_MARK}{name}F"


def render_shared(
    name: str,
    key: Any,
    make_context: Callable[[], dict[str, Any]],
    fresh: Mapping[str, str],
    status: int = 200,
    form_action: tuple[str, ...] = (),
) -> Html:
    """A page that is the same for every response with ``key`` but for its CSP nonce and the
    ``fresh`` values (a CSRF token): rendered once per container, then only those filled in.

    ``key`` must name everything the page is made from (``make_context`` is called only
    when it is not known yet). The nonce is new for every response, as with ``render``;
    each fresh value must reach the page as it is (URL-safe characters), or the page is
    rendered in full instead.
    """
    nonce = secrets.token_urlsafe(18)
    with _shared_lock:
        body = _shared.get(key)
    if body is None:
        context = make_context()
        context.update({k: _fresh_mark(k) for k in fresh})
        body = _render_body(name, context, _NONCE_MARK)
        with _shared_lock:
            _shared[key] = body
            while len(_shared) > _SHARED_SIZE:
                _shared.pop(next(iter(_shared)))
    page = body.replace(_NONCE_MARK, nonce)
    for k, value in fresh.items():
        page = page.replace(_fresh_mark(k), value)
    if _MARK in page:
        # A value went through a filter that changed it: this page cannot be shared.
        context = make_context()
        context.update(fresh)
        page = _render_body(name, context, nonce)
    return Html(body=page, nonce=nonce, status=status, form_action=form_action)


def template_path(name: str) -> Path:
    return Path(TEMPLATES_DIR) / name
