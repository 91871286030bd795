"""The deployment package: built with `chalice package`, unzipped, and serving a page
from the unzipped code alone (plus boto3 and its dependencies, which Lambda provides)."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.web import render
from tests.conftest import checkout_body, create_merchant

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_PROVIDES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "six.py")

pytestmark = pytest.mark.xdist_group("packaging")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    # As `make package` does: the templates compiled into vendor/ first, then the bytecode.
    for tool in ("compile_templates.py", "compile_bytecode.py"):
        compiled = subprocess.run([sys.executable, str(ROOT / "tools" / tool)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=120)
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    result = subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "dev", str(out / "build")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    unpacked = out / "unpacked"
    with zipfile.ZipFile(out / "build" / "deployment.zip") as archive:
        archive.extractall(unpacked)
    runtime = out / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).parent.parent
    for name in LAMBDA_PROVIDES:
        (runtime / name).symlink_to(site / name)
    return {"zip": out / "build" / "deployment.zip", "dir": unpacked, "runtime": runtime, "sam": out / "build" / "sam.json"}


def test_the_package_holds_the_app_templates_and_static_files(package):
    names = set(zipfile.ZipFile(package["zip"]).namelist())
    assert "compiled_templates/manifest.json" in names
    assert len([n for n in names if n.startswith("compiled_templates/tmpl_")]) == len(list((ROOT / "templates").rglob("*.html")))
    assert {"app.py", "chalicelib/__init__.py", "chalicelib/adapters/store.py"} <= names
    for folder in ("templates", "static"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file():
                name = path.relative_to(ROOT).as_posix()
                assert name in names, f"{name} is missing from the package"
    assert not any(n.startswith(("tests/", "tools/", ".venv/", "node_modules/")) for n in names)


RENDER = r"""
import json, os, sys
import app
event = {
    "resource": "/c/{checkout_id}", "path": "/c/%(id)s", "httpMethod": "GET",
    "headers": {"Host": "abc123.execute-api.ap-northeast-2.amazonaws.com", "X-Forwarded-Proto": "https"},
    "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"checkout_id": "%(id)s"}, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/c/{checkout_id}", "httpMethod": "GET", "stage": "api", "path": "/api/c/%(id)s"},
}
page = app.app(event, None)
script = [w for w in page["body"].split('"') if w.endswith(".js") and "/static/postcode." in w][0]
name = script.rsplit("/", 1)[1]
static_event = dict(event, resource="/static/{name}", path="/static/" + name, pathParameters={"name": name},
                    requestContext=dict(event["requestContext"], resourcePath="/static/{name}"))
static = app.app(static_event, None)
site = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
from chalicelib.web import render
compiled = (type(render.environment().loader).__name__ == "ModuleLoader"
            and render.COMPILED_DIR.resolve().is_relative_to(os.path.realpath(os.getcwd())))
print(json.dumps({"page": page, "script": script, "static_status": static["statusCode"], "compiled": compiled,
                  "static_type": static["headers"].get("Content-Type"), "static_cache": static["headers"].get("Cache-Control"),
                  "app_file": app.__file__, "modules": site}))
"""


def test_a_page_renders_from_the_unzipped_package(package, db, moto_endpoint):
    merchant = create_merchant(db)
    from chalicelib.usecases import checkouts

    checkout = checkouts.create(db, merchant.merchant, checkout_body(), None, "https://pay.example")
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": f"{package['dir']}{os.pathsep}{package['runtime']}",
        "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "CHECKOUT_TABLE": db.table, "CHECKOUT_STAGE": "dev", "CHECKOUT_SANDBOX": "1",
        "CHECKOUT_SECRET_KEY": os.environ["CHECKOUT_SECRET_KEY"],
    }
    # -S: no site-packages at all; only the package, boto3's family and the standard library.
    result = subprocess.run([sys.executable, "-S", "-c", RENDER % {"id": checkout["id"]}], cwd=package["dir"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    page = out["page"]
    assert page["statusCode"] == 200, page["body"][:500]
    assert "유기농 녹차" in page["body"] and "22,000원" in page["body"]
    # The address search's script, loaded on demand, is a file of the package's static/.
    assert out["script"].startswith("https://abc123.execute-api.ap-northeast-2.amazonaws.com/api/static/postcode.")
    assert out["static_status"] == 200 and out["static_type"].startswith("text/javascript")
    # The stylesheet and the checkout script are in the page, read from the package's static/.
    assert render.compact((ROOT / "static" / "checkout.css").read_text(), ".css") in page["body"]
    assert render.compact((ROOT / "static" / "checkout.js").read_text(), ".js") in page["body"]
    assert "immutable" in out["static_cache"]
    assert Path(out["app_file"]).resolve().is_relative_to(package["dir"].resolve())
    venv = Path(sys.prefix).resolve()
    foreign = [m for m in out["modules"] if Path(m).resolve().is_relative_to(venv)
               and not any(part in LAMBDA_PROVIDES or part.removesuffix(".py") in LAMBDA_PROVIDES for part in Path(m).parts)]
    assert foreign == []
    assert out["compiled"], "the page was rendered from the templates compiled into the package"


# What every page runs, as the package carries it: ours, the compiled templates, and the
# libraries tools/compile_bytecode.py compiles (Jinja2, MarkupSafe, Chalice's two files).
EVERY_PAGE_CODE = ("chalicelib/", "compiled_templates/", "jinja2/", "markupsafe/", "chalice/")


def test_the_package_carries_checked_bytecode_for_what_every_page_runs(package):
    import importlib.util

    archive = zipfile.ZipFile(package["zip"])
    names = set(archive.namelist())
    sources = [n for n in names if n.endswith(".py") and (n == "app.py" or n.startswith(EVERY_PAGE_CODE))]
    assert len(sources) > 100
    tag = sys.implementation.cache_tag
    for source in sources:
        folder, _, file = source.rpartition("/")
        pyc = f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{tag}.pyc"
        assert pyc in names, f"{source} has no bytecode in the package"
        data = archive.read(pyc)
        # PEP 552: flags 0b11 = hash-based and checked against the source; then the source's hash.
        assert int.from_bytes(data[4:8], "little") == 0b11, pyc
        assert data[8:16] == importlib.util.source_hash(archive.read(source)), f"{pyc} is not {source}'s bytecode"


def test_the_unpacked_package_runs_its_bytecode_not_its_sources(package):
    # As in Lambda, nothing can be written next to the code: what the zip has no bytecode for
    # is compiled from source on every start, which `python -v` reports as "code object from <source>".
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{package['dir']}{os.pathsep}{package['runtime']}",
           "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "ap-northeast-2"}
    result = subprocess.run([sys.executable, "-S", "-v", "-c", "import app, jinja2.runtime"], cwd=package["dir"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    root = package["dir"].resolve()
    loaded = [line.removeprefix("# code object from ").strip("'") for line in result.stderr.splitlines()
              if line.startswith("# code object from ")]
    in_package = [Path(path).resolve().relative_to(root).as_posix() for path in loaded
                  if Path(path).resolve().is_relative_to(root)]
    every_page = [p for p in in_package if p.startswith(("app.py", "__pycache__/app.", *EVERY_PAGE_CODE))]
    assert len([p for p in every_page if p.startswith("chalicelib/")]) > 15
    assert len([p for p in every_page if p.startswith("jinja2/")]) > 10
    assert [p for p in every_page if p.endswith(".py")] == [], "compiled from source at start-up"
