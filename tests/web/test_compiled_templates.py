"""Templates compiled to Python for the package (tools/compile_templates.py): used only while
their manifest matches the templates beside them, and rendering exactly as the sources do."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from jinja2 import FileSystemLoader, ModuleLoader

from chalicelib.web import i18n, render

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))


def compiled_into(target: Path) -> Path:
    import compile_templates

    compile_templates.compile_templates(target)
    return target


def test_a_compiled_set_renders_what_the_sources_render(tmp_path):
    compiled = compiled_into(tmp_path / "compiled")
    assert render.compiled_is_current(compiled)
    context = {"t": i18n.translator("ko"), "locale": "ko", "base": "https://pay.example", "kind": "not_found",
               "title": "없음", "body": "<script>x</script>", "csp_nonce": "n0nce", "static_url": lambda n: f"/static/{n}",
               "inline_style": render.inline_style, "inline_script": render.inline_script}
    from_source = render.make_environment(FileSystemLoader(str(render.TEMPLATES_DIR))).get_template("message.html")
    from_module = render.make_environment(ModuleLoader(str(compiled))).get_template("message.html")
    assert from_module.render(**context) == from_source.render(**context)
    assert "&lt;script&gt;" in from_module.render(**context)  # autoescape survives compilation


def test_a_stale_or_partial_set_is_not_used(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES_DIR, templates)
    compiled = compiled_into(tmp_path / "compiled")
    assert json.loads((compiled / render.COMPILED_MANIFEST).read_text())["templates"] == render.source_digests(templates)
    assert render.compiled_is_current(compiled, templates)
    (templates / "message.html").write_text((templates / "message.html").read_text() + "\n<!-- edited -->\n")
    assert not render.compiled_is_current(compiled, templates), "a template edited after compiling"
    (templates / "message.html").write_bytes((render.TEMPLATES_DIR / "message.html").read_bytes())
    (templates / "extra.html").write_text("{{ x }}")
    assert not render.compiled_is_current(compiled, templates), "a template the set does not have"
    (templates / "extra.html").unlink()
    nested = next(templates.rglob("*/*.html"), None)
    if nested is not None:
        original = nested.read_bytes()
        nested.write_bytes(original + b"\n")
        assert not render.compiled_is_current(compiled, templates), "a template in a folder edited after compiling"
        nested.write_bytes(original)
    assert render.compiled_is_current(compiled, templates)
    (compiled / render.COMPILED_MANIFEST).unlink()
    assert not render.compiled_is_current(compiled, templates), "no manifest"
    assert not render.compiled_is_current(tmp_path / "missing", templates)


def test_local_development_renders_from_the_sources():
    # The repository keeps compiled templates (if any) in vendor/, never beside app.py.
    assert not (render.COMPILED_DIR).exists()
    assert isinstance(render.environment().loader, FileSystemLoader)
