"""Admin CLI: ``python -m chalicelib.admin [--stage S] COMMAND``.

create-table, merchant create|update|show|rotate-key|login-link, demo, reconcile. Each uses the stage's
settings from .chalice/config.json. Secrets are printed once, as JSON, on
stdout; errors go to stderr with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from chalicelib.config import load_stage_environment, settings
from chalicelib.domain import business
from chalicelib.domain.errors import CheckoutError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.entrypoints.admin", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="stage in .chalice/config.json (default: dev)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-table", help="create the table, indexes and TTL if missing (safe to repeat)")

    merchant = commands.add_parser("merchant", help="merchants").add_subparsers(dest="action", required=True)
    create = merchant.add_parser("create", help="create a merchant; prints its API key and webhook secret once")
    create.add_argument("--id", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--provider", required=True)
    create.add_argument("--fallback-provider")
    create.add_argument("--credential", action="append", default=[], metavar="KEY=VALUE")
    create.add_argument("--allowed-host", action="append", default=[], metavar="HOST")
    create.add_argument("--webhook-url")
    create.add_argument("--locale", choices=("ko", "en"), default="ko")
    create.add_argument("--brand-color", default="#1A56DB")
    create.add_argument("--button-radius", type=int, default=8, metavar="PX", help="pay button corner radius, 0-24 (default: 8)")
    create.add_argument("--logo-url")
    create.add_argument("--support-email")
    create.add_argument("--business", action="append", default=[], metavar="KEY=VALUE",
                        help="business profile (seller information): " + ", ".join(business.PROFILE_KEYS))
    update = merchant.add_parser("update", help="change settings, branding or the business profile; prints the merchant")
    update.add_argument("--id", required=True)
    update.add_argument("--name")
    update.add_argument("--allowed-host", action="append", metavar="HOST", help="replaces the list")
    update.add_argument("--webhook-url")
    update.add_argument("--locale", choices=("ko", "en"))
    update.add_argument("--brand-color")
    update.add_argument("--button-radius", type=int, metavar="PX")
    update.add_argument("--logo-url")
    update.add_argument("--support-email")
    update.add_argument("--business", action="append", default=[], metavar="KEY=VALUE",
                        help="business profile key (an empty VALUE removes it): " + ", ".join(business.PROFILE_KEYS))
    update.add_argument("--credential", action="append", default=[], metavar="KEY=VALUE",
                        help="replace one provider credential (a rotated secret); the others are kept")
    for fixed in ("--provider", "--fallback-provider"):
        update.add_argument(fixed, action="append", help=argparse.SUPPRESS)
    show = merchant.add_parser("show", help="the merchant without secrets")
    show.add_argument("--id", required=True)
    rotate = merchant.add_parser("rotate-key", help="a new API key; the old one stops working")
    rotate.add_argument("--id", required=True)
    link = merchant.add_parser("login-link", help="a one-time dashboard sign-in link (15 minutes, used once)")
    link.add_argument("--id", required=True)
    link.add_argument("--base-url", help="where the app is served (default: CHECKOUT_PUBLIC_URL, else http://127.0.0.1:8000)")

    reconcile = commands.add_parser(
        "reconcile", help="ask the providers about processing checkouts and settle what they say; prints the counts")
    reconcile.add_argument("--older-than-s", type=int, metavar="N",
                           help="every processing attempt at least N seconds old (0: all), not only those due")
    reconcile.add_argument("--checkout", metavar="ID", help="only this checkout")

    demo = commands.add_parser("demo", help="demo merchant (sandbox) and one demo checkout")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the app is served")
    demo.add_argument("--store-url", default="http://127.0.0.1:8001", help="the demo merchant's own site")
    return parser


def _credentials(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"--credential takes KEY=VALUE, got {pair.split('=')[0]!r}=…")
        result[key.strip()] = value
    return result


def _business(pairs: Sequence[str]) -> dict[str, str]:
    """--business KEY=VALUE pairs; the values are judged by chalicelib.domain.business."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--business takes KEY=VALUE, got {pair!r}")
        result[key.strip()] = value
    return result


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    load_stage_environment(args.stage)
    from chalicelib.adapters.store import get_store
    from chalicelib.usecases import merchants

    store = get_store()
    if args.command == "create-table":
        created = store.create_table(point_in_time_recovery=settings().stage == "prod")
        result: dict[str, Any] = {"table": store.table, "created": created}
        unused = store.unused_indexes()
        if unused:
            # Left in place: a version still deployed may read it. Every write pays its copy.
            result["unused_indexes"] = unused
            result["note"] = (f"this version no longer reads {', '.join(unused)}; once it is deployed everywhere, delete "
                              f"{'them' if len(unused) > 1 else 'it'} (aws dynamodb update-table --table-name {store.table} "
                              "--global-secondary-index-updates '[{\"Delete\": {\"IndexName\": \"NAME\"}}]')")
        return result
    if args.command == "merchant":
        if args.action == "create":
            merchant, api_key, secret = merchants.create(
                store,
                merchant_id=args.id,
                name=args.name,
                provider=args.provider,
                fallback_provider=args.fallback_provider,
                credentials=_credentials(args.credential),
                allowed_hosts=args.allowed_host,
                webhook_url=args.webhook_url,
                locale=args.locale,
                brand_color=args.brand_color,
                button_radius=args.button_radius,
                logo_url=args.logo_url,
                support_email=args.support_email,
                business_profile=_business(args.business),
            )
            for warning in merchant.warnings():
                print(f"warning: {warning['message']}", file=sys.stderr)
            return {"merchant_id": merchant.id, "api_key": api_key, "webhook_secret": secret}
        if args.action == "update":
            if args.provider or args.fallback_provider:
                # Provider onboarding (PayCombat's wallet) happens at create only.
                raise SystemExit("merchant update does not change the provider; create a new merchant for another provider")
            if args.credential:
                merchants.update_credentials(store, args.id, _credentials(args.credential))
            changes = {
                "name": args.name, "allowed_hosts": args.allowed_host, "webhook_url": args.webhook_url,
                "locale": args.locale, "brand_color": args.brand_color, "button_radius": args.button_radius,
                "logo_url": args.logo_url, "support_email": args.support_email,
            }
            updated = merchants.update(store, args.id, changes, _business(args.business))
            for warning in updated.warnings():
                print(f"warning: {warning['message']}", file=sys.stderr)
            return updated.public_view()
        if args.action == "show":
            found = merchants.get(store, args.id)
            if found is None:
                raise SystemExit(f"no merchant {args.id}")
            for warning in found.warnings():
                print(f"warning: {warning['message']}", file=sys.stderr)
            return found.public_view()
        if args.action == "rotate-key":
            return {"merchant_id": args.id, "api_key": merchants.rotate_key(store, args.id)}
        if args.action == "login-link":
            from chalicelib.usecases import dashboard_sessions

            base = args.base_url or settings().public_url or "http://127.0.0.1:8000"
            return dashboard_sessions.create_login_link(store, args.id, base)
    if args.command == "reconcile":
        from chalicelib.domain import clock
        from chalicelib.usecases import reconcile

        if args.older_than_s is not None and args.older_than_s < 0:
            raise SystemExit("--older-than-s takes a number of seconds, 0 or more")
        return reconcile.run(store, clock.now_s(), older_than_s=args.older_than_s, checkout_id=args.checkout)
    if args.command == "demo":
        return demo(store, args.base_url, args.store_url)
    raise SystemExit("unknown command")


# A made-up seller (the registration number passes the checksum; it names no real business we know of).
DEMO_BUSINESS = {
    "name": "데모 상점 주식회사", "representative": "홍길동", "address": "서울특별시 강남구 테헤란로 152, 10층",
    "phone": "02-1234-5678", "email": "help@example.com", "registration_number": "123-45-67891",
    "mail_order_number": "제2026-서울강남-0001호", "mail_order_office": "서울특별시 강남구청",
    "hosting_provider": "Amazon Web Services, Inc.", "terms_url": "https://shop.example/terms",
    "refund_policy": "상품 수령 후 7일 이내 교환·반품 가능", "return_shipping_fee": "3000",
}


def demo(store: Any, base_url: str, store_url: str) -> dict[str, Any]:
    """The run command's setup: a sandbox merchant (new key each run) and a KRW checkout."""
    from urllib.parse import urlsplit

    from chalicelib.usecases import checkouts, merchants

    store.create_table(point_in_time_recovery=False)
    store_host = urlsplit(store_url).hostname or "127.0.0.1"
    merchant = merchants.get(store, "demo")
    if merchant is None:
        merchant, api_key, secret = merchants.create(
            store,
            merchant_id="demo",
            name="데모 상점 Demo Store",
            provider="sandbox",
            allowed_hosts=sorted({store_host, "localhost", "127.0.0.1"}),
            webhook_url=f"{store_url}/webhooks",
            locale="ko",
            support_email="help@example.com",
            business_profile=DEMO_BUSINESS,
        )
    else:
        api_key, secret = merchants.rotate_key(store, "demo"), merchant.webhook_secret()
    checkout = checkouts.create(store, merchant, {
        "line_items": [
            {"name": "유기농 녹차 세트", "unit_amount": 19000, "quantity": 1},
            {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True},
        ],
        "currency": "KRW",
        "success_url": f"{store_url}/success?checkout_id={{CHECKOUT_ID}}",
        "cancel_url": f"{store_url}/cart",
        "client_reference_id": "demo-order-1",
        "customer": {"name": "홍길동", "email": "gildong@example.com"},
    }, None, base_url.rstrip("/"))
    return {
        "merchant_id": "demo",
        "api_key": api_key,
        "webhook_secret": secret,
        "checkout_id": checkout["id"],
        "checkout_url": checkout["url"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(argv)
    except CheckoutError as e:
        print(json.dumps(e.to_dict(), ensure_ascii=False), file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
