"""Compile the Jinja2 templates to Python for the Lambda package (``make package``).

    .venv/bin/python tools/compile_templates.py [TARGET]

Writes ``vendor/compiled_templates/`` (Chalice puts ``vendor/``'s contents at the
root of the zip, next to ``templates/``): one module per template, from Jinja2's
``Environment.compile_templates``, and a manifest of the sources' SHA-256, which
``chalicelib.render`` checks before using them. Run it again after editing a
template; a stale set is ignored, never served.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.web import render  # noqa: E402


def compile_templates(target: Path) -> int:
    from jinja2 import FileSystemLoader

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    env = render.make_environment(FileSystemLoader(str(render.TEMPLATES_DIR)))
    env.compile_templates(str(target), zip=None, ignore_errors=False)
    digests = render.source_digests()
    (target / render.COMPILED_MANIFEST).write_text(json.dumps({"templates": digests}, indent=1, sort_keys=True) + "\n")
    return len(digests)


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "vendor" / "compiled_templates"
    count = compile_templates(target)
    print(f"compiled {count} templates into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
