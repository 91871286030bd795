"""Bytecode for the Lambda package (``make package``; before ``chalice deploy``, after
``tools/compile_templates.py``).

    .venv/bin/python tools/compile_bytecode.py             # the project, for its package
    .venv/bin/python tools/compile_bytecode.py --tree DIR  # a package laid out in DIR (bench/run.py)

Lambda's ``/var/task`` is read-only, so a module without bytecode in the package is
compiled from source again on every cold start (a quarter of our first page's time).
This writes the bytecode, with this interpreter (Chalice takes the Lambda runtime from
it, so the bytecode is the runtime's version), where Chalice copies it into the zip:

- ``chalicelib/**/__pycache__/`` (Chalice copies ``chalicelib/`` as it is);
- ``vendor/__pycache__/`` for ``app.py`` and ``vendor/compiled_templates/__pycache__/``
  (``vendor/`` goes to the root of the zip);
- ``vendor/<library>/**/__pycache__/`` for the pure-Python code every page runs: Jinja2
  and MarkupSafe (from the installed copies: the pinned versions the package gets) and
  the two files of Chalice the package carries.

Every file is hash-checked (PEP 552): Python runs it only while it matches the hash of
the source beside it, and compiles the source otherwise. A stale or foreign file is
never run, and editing a source afterwards is safe.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import py_compile
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The libraries every page imports (the others load on the routes that need them):
# distribution -> its top-level packages.
EVERY_PAGE = {"jinja2": ("jinja2",), "markupsafe": ("markupsafe",)}


def compile_file(source: Path, pyc: Path) -> None:
    py_compile.compile(str(source), cfile=str(pyc), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)


def pyc_path(source: Path, cache_root: Path) -> Path:
    """Where the bytecode of ``source`` goes when its folder is ``cache_root`` in the zip (as the
    runtime looks for it: no optimisation level, whatever this interpreter was started with)."""
    return cache_root / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"


def compile_tree(tree: Path, target: Path | None = None) -> int:
    """Every .py under ``tree``, into ``__pycache__`` folders under ``target`` (default: beside
    each source), the old ``__pycache__`` folders of ``tree`` cleared first. Returns the count."""
    target = target or tree
    for old in [p for p in tree.rglob("__pycache__") if p.is_dir()]:
        shutil.rmtree(old)
    count = 0
    for source in sorted(tree.rglob("*.py")):
        compile_file(source, pyc_path(source, target / source.parent.relative_to(tree)))
        count += 1
    return count


def compile_libraries(vendor: Path) -> list[str]:
    """The every-page libraries' and Chalice's bytecode into ``vendor/``; returns what was done.

    From the installed copies: should the package get another version, its sources do not
    match these files' hashes and are compiled as before (slower, never wrong).
    """
    done = []
    for dist, packages in EVERY_PAGE.items():
        installed = importlib.metadata.version(dist)
        for package in packages:
            spec = importlib.util.find_spec(package)
            assert spec is not None and spec.submodule_search_locations, package
            source_root = Path(next(iter(spec.submodule_search_locations)))
            shutil.rmtree(vendor / package, ignore_errors=True)
            count = 0
            for source in sorted(source_root.rglob("*.py")):
                compile_file(source, pyc_path(source, vendor / package / source.parent.relative_to(source_root)))
                count += 1
            done.append(f"{package} {installed}: {count} modules")
    # Chalice puts these two files of the installed Chalice in the zip (chalice/app.py, chalice/__init__.py).
    import chalice
    import chalice.app

    shutil.rmtree(vendor / "chalice", ignore_errors=True)
    for module in (chalice, chalice.app):
        source = Path(str(module.__file__))
        compile_file(source, pyc_path(source, vendor / "chalice"))
    done.append("chalice: app.py, __init__.py")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="a package laid out in this folder: compile everything in it")
    args = parser.parse_args()
    if args.tree:
        print(f"compiled {compile_tree(args.tree)} modules in {args.tree}")
        return 0
    vendor = ROOT / "vendor"
    count = compile_tree(ROOT / "chalicelib")
    shutil.rmtree(vendor / "__pycache__", ignore_errors=True)
    compile_file(ROOT / "app.py", pyc_path(ROOT / "app.py", vendor))
    compiled_templates = vendor / "compiled_templates"
    templates = compile_tree(compiled_templates) if compiled_templates.is_dir() else 0
    print(f"compiled chalicelib ({count} modules), app.py, compiled_templates ({templates} modules)")
    for line in compile_libraries(vendor):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
