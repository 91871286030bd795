"""Merchant webhooks: Standard Webhooks signing, event records, and delivery.

Signing is a pure function of (secret, id, timestamp, body), like stripe-python's
``WebhookSignature``; merchants verify with the ``standardwebhooks`` library.
Every event is a table item written in the same transaction as the state change
that caused it (``store.apply``), so an event exists exactly when its change
does. Delivery records each attempt on that item; the retry schedule reads the
``gsi2`` index of deliveries that are due.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import zlib
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain import clock
from chalicelib.domain.ids import event_id_for

log = logging.getLogger(__name__)

# First attempt at once; then, after each failure, these delays (Standard Webhooks'
# schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — over 27 h in all), each
# stretched by up to 10 % of jitter so failed endpoints are not hit in lockstep.
RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1
FIRST_ATTEMPT_TIMEOUT_S = (2.0, 3.0)   # (connect, read): answer the provider quickly
RETRY_TIMEOUT_S = (3.0, 10.0)

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers_for(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(secret, msg_id, timestamp_s, body),
        "user-agent": "hosted-checkout-webhooks/1",
    }


def new_event_record(
    checkout_id: str, merchant_id: str, event_type: str, event_key: str, data: dict[str, Any], now_s: int
) -> dict[str, Any]:
    event_id = event_id_for(checkout_id)  # names its checkout: found by id without an index entry
    body = json.dumps(
        {"type": event_type, "timestamp": clock.iso(now_s), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return {
        "pk": f"CHECKOUT#{checkout_id}",
        "sk": f"EVENT#{event_key}",
        "type": "event",
        "id": event_id,
        "event_type": event_type,
        "checkout_id": checkout_id,
        "merchant_id": merchant_id,
        "created_at_s": now_s,
        PACKED_PAYLOAD: pack_payload(body),
        "delivery_status": PENDING,
        "attempts": 0,
        "next_attempt_at_s": now_s,
        "gsi2pk": "DELIVERY",
        "gsi2sk": f"{now_s:012d}#{event_id}",
    }


# The event's body as stored: raw DEFLATE against ``_PAYLOAD_DICTIONARY`` (a checkout event's
# usual keys and values), about a fifth of the JSON: a whole event then fits in 1 KB, one
# write unit for it and one for its index copy on every write. Items from before it
# hold the JSON as it is in ``payload``; ``payload_of`` reads both. The dictionary is part of
# the stored format: never change it (a new one would need a new attribute name).
PACKED_PAYLOAD = "payload_deflate1"
_PAYLOAD_DICTIONARY = (
    '{"type":"checkout.completed","timestamp":"2026-01-01T00:00:00Z","data":{"id":"chk_","object":"checkout","url":"https://'
    '/c/chk_","status":"complete","amount_subtotal":0,"amount_discount":0,"amount_total":0,"promotion_code":null,'
    '"allow_promotion_codes":false,"currency":"KRW","line_items":[{"name":"","unit_amount":0,"quantity":1,"amount":0}],'
    '"customer":{},"client_reference_id":null,"metadata":{},"locale":"ko","payment_method_types":["card","virtual_account",'
    '"bank_transfer","kakao_pay","naver_pay","toss_pay"],"collect_shipping_address":true,"success_url":"https://",'
    '"cancel_url":"https://","provider":"koreacheckout","payment":{"provider_session_id":"","method":"card","amount":0,'
    '"currency":"KRW","paid_at":"2026-01-01T00:00:00Z","provider_reference":null},"late_payment":false,"amount_refunded":0,'
    '"created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:00:00Z","shipping":{"name":"","phone":"010-",'
    '"phone2":null,"postal_code":"","address1":"서울 ","address_jibun":"","address2":"","request":null,"request_type":null,'
    '"entrance_code":null},"cash_receipt":null,"installment_months":null,"marketing_opt_in":false}}'
).encode()


def pack_payload(body: str) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _PAYLOAD_DICTIONARY)
    return packer.compress(body.encode()) + packer.flush()


def payload_of(event: dict[str, Any]) -> str:
    """The event's JSON body, byte for byte as it was signed and sent (either stored form)."""
    packed = event.get(PACKED_PAYLOAD)
    if packed is None:
        return str(event["payload"])
    unpacker = zlib.decompressobj(-15, _PAYLOAD_DICTIONARY)
    return (unpacker.decompress(bytes(packed)) + unpacker.flush()).decode()


def next_state(attempts_done: int, ok: bool, now_s: int, jitter: float = 0.0) -> dict[str, Any]:
    """After an attempt: succeeded, or the next retry time, or failed when the schedule is spent.

    ``jitter`` in [0, 1) stretches the delay by up to JITTER of itself (never shortens it).
    """
    if ok:
        return {"delivery_status": SUCCEEDED, "next_attempt_at_s": None, "gsi2pk": None, "gsi2sk": None}
    if attempts_done > len(RETRY_DELAYS_S):
        return {"delivery_status": FAILED, "next_attempt_at_s": None, "gsi2pk": None, "gsi2sk": None}
    delay = RETRY_DELAYS_S[attempts_done - 1]
    return {"delivery_status": PENDING, "next_attempt_at_s": now_s + delay + int(delay * JITTER * jitter), "gsi2pk": "DELIVERY"}


def send(url: str, secret: str, event: dict[str, Any], timeout: tuple[float, float]) -> int | None:
    """POST one delivery to the address the SSRF guard approved; the HTTP status, or None when there was no answer."""
    import requests

    from chalicelib.adapters.netguard import BlockedDestination, check_url
    from chalicelib.config import settings

    try:
        addresses = check_url(url, allow_loopback_http=settings().allow_insecure_webhooks)
    except BlockedDestination as e:
        log.warning("webhook delivery %s not sent: %s", event["id"], e)
        return None
    now = clock.now_s()
    body = payload_of(event).encode()
    try:
        return _post_pinned(url, str(addresses[0]), body, headers_for(secret, event["id"], now, body), timeout)
    except (requests.RequestException, OSError, ValueError) as e:
        log.warning("webhook delivery %s to merchant %s got no answer: %s", event["id"], event["merchant_id"], type(e).__name__)
        return None


def _post_pinned(url: str, address: str, body: bytes, headers: dict[str, str], timeout: tuple[float, float]) -> int:
    """POST to ``address`` as if to ``url``'s host: Host header, TLS SNI and certificate check by the name.

    urllib3 (requests' own transport) is used directly because requests resolves the name
    itself and offers no way to hand it an address.
    """
    import urllib3
    from certifi import where as ca_bundle

    parts = urlsplit(url)
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    options: dict[str, Any] = {
        "timeout": urllib3.Timeout(connect=timeout[0], read=timeout[1]),
        "retries": False,
        "maxsize": 1,
    }
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, parts.port or 443, server_hostname=host, assert_hostname=host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=ca_bundle(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, parts.port or 80, **options)
    try:
        response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": parts.netloc},
                                redirect=False, preload_content=True)
    except urllib3.exceptions.HTTPError as e:
        raise OSError(str(e)) from e
    finally:
        pool.close()
    return int(response.status)
