"""Writes chalicelib/openapi.json, the OpenAPI 3.1 document of the merchant API.

The document is data the app serves at /api/openapi.json; this script is its
source, so shared pieces (the error shape, the checkout object) are written once.
Run it after changing the API; a test fails when the two differ.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["card", "virtual_account", "bank_transfer", "kakao_pay", "naver_pay", "toss_pay", "wechat_pay", "cash_app", "crypto"]
STATUSES = ["open", "processing", "complete", "expired", "cancelled", "partially_refunded", "refunded"]
CURRENCY_IN = {"type": "string", "description": "ISO 4217 code (or USDT), any case", "examples": ["KRW", "usd"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Bad input", 401: "Missing or wrong API key", 404: "Not found (or another merchant's)",
            409: "Conflict with the current state", 413: "The body is over the documented limit (256 KiB)",
            422: "Well formed but not allowed", 502: "The payment provider failed", 503: "Temporarily unavailable"}
    if 400 in statuses:
        # Any request that can be refused as bad input can be refused as too large first.
        statuses = tuple(sorted({*statuses, 413}))
    return {str(s): {"description": text[s], "content": {"application/json": {"schema": ref("Error")}}} for s in statuses}


def ok(status: int, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


LINE_ITEM_IN = {
    "type": "object", "additionalProperties": False, "required": ["name", "unit_amount", "quantity"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "unit_amount": {"type": "integer", "minimum": 0, "maximum": 99999999999, "description": "minor units"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
        "description": {"type": ["string", "null"], "maxLength": 500},
        "image_url": {"type": ["string", "null"], "format": "uri", "pattern": "^https://"},
        "product_id": {"type": ["string", "null"], "maxLength": 100},
        "shipping": {"type": ["boolean", "null"], "description": "a shipping charge (free_shipping codes take it to 0)"},
        "non_returnable": {"type": ["boolean", "null"], "description": "excluded from withdrawal (전자상거래법 제17조②): "
                           "the page labels it 청약철회 불가 상품"},
    },
}
CUSTOMER_IN = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "name": {"type": ["string", "null"], "maxLength": 100},
        "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
        "phone": {"type": ["string", "null"], "maxLength": 20, "examples": ["010-1234-5678", "+82 10 1234 5678"]},
    },
}
CHECKOUT_FIELDS_IN = {
    "line_items": {"type": "array", "minItems": 1, "maxItems": 100, "items": LINE_ITEM_IN},
    "currency": CURRENCY_IN,
    "customer": CUSTOMER_IN,
    "collect_shipping_address": {"type": "boolean", "description": "default: true for KRW"},
    "success_url": {"type": "string", "maxLength": 2048, "description": "https on an allowed host; {CHECKOUT_ID} is replaced",
                    "examples": ["https://shop.example/thanks?c={CHECKOUT_ID}"]},
    "cancel_url": {"type": "string", "maxLength": 2048, "examples": ["https://shop.example/cart"]},
    "client_reference_id": {"type": ["string", "null"], "maxLength": 200},
    "metadata": {"type": ["object", "null"], "maxProperties": 50, "additionalProperties": {"type": "string", "maxLength": 500}},
    "locale": {"enum": ["ko", "en"]},
    "expires_in": {"type": "integer", "minimum": 1800, "maximum": 604800},
    "payment_method_types": {"type": "array", "minItems": 1, "items": {"enum": METHODS}},
}
CODE_IN = {"type": "string", "pattern": "^[A-Za-z0-9_-]{3,40}$", "description": "case-insensitive", "examples": ["WELCOME10"]}
PROMOTION_FIELDS_IN = {
    "allow_promotion_codes": {"type": "boolean", "description": "show a code field on the page (default false)"},
    "promotion_code": {**CODE_IN, "description": "a code of yours to pre-apply"},
}
CREATE_CHECKOUT = {
    "type": "object", "additionalProperties": False, "required": ["line_items", "currency", "success_url", "cancel_url"],
    "properties": {**CHECKOUT_FIELDS_IN, **PROMOTION_FIELDS_IN},
    "examples": [{
        "line_items": [{"name": "유기농 녹차", "unit_amount": 29000, "quantity": 1}], "currency": "KRW",
        "success_url": "https://shop.example/thanks?c={CHECKOUT_ID}", "cancel_url": "https://shop.example/cart",
    }],
}

CREATE_PAYMENT_LINK = {**CREATE_CHECKOUT, "properties": CHECKOUT_FIELDS_IN}
UPDATE_CHECKOUT = {
    "type": "object", "additionalProperties": False,
    "description": "Only while the checkout is open; null clears a field (promotion_code: null removes the code).",
    "properties": {
        "line_items": CHECKOUT_FIELDS_IN["line_items"],
        "customer": {"oneOf": [CUSTOMER_IN, {"type": "null"}]},
        "client_reference_id": CHECKOUT_FIELDS_IN["client_reference_id"],
        "metadata": CHECKOUT_FIELDS_IN["metadata"],
        "promotion_code": {"oneOf": [CODE_IN, {"type": "null"}]},
    },
    "examples": [{"line_items": [{"name": "유기농 녹차", "unit_amount": 29000, "quantity": 2}], "metadata": {"cart": "v2"}}],
}
PROMOTION_TYPES = ["percentage", "fixed_amount", "free_shipping", "product_specific"]
CREATE_PROMOTION_CODE = {
    "type": "object", "additionalProperties": False, "required": ["code", "type"],
    "properties": {
        "code": CODE_IN,
        "type": {"enum": PROMOTION_TYPES},
        "value": {"type": ["integer", "null"], "minimum": 1,
                  "description": "percent (1–100) or minor units, as type (or value_type) says; none for free_shipping"},
        "value_type": {"enum": ["percentage", "fixed_amount", None], "description": "product_specific only"},
        "currency": {"type": ["string", "null"], "description": "required for an amount off and with minimum_order_amount"},
        "product_ids": {"type": ["array", "null"], "items": {"type": "string", "minLength": 1, "maxLength": 100},
                        "minItems": 1, "maxItems": 100},
        "valid_from": {"type": ["string", "null"], "format": "date-time"},
        "valid_until": {"type": ["string", "null"], "format": "date-time"},
        "minimum_order_amount": {"type": ["integer", "null"], "minimum": 1, "description": "minor units, before discount"},
        "usage_limit": {"type": ["integer", "null"], "minimum": 1},
        "usage_limit_per_customer": {"type": ["integer", "null"], "minimum": 1, "description": "per customer email"},
        "active": {"type": "boolean"},
    },
    "examples": [{"code": "WELCOME10", "type": "percentage", "value": 10, "usage_limit": 1000, "usage_limit_per_customer": 1}],
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {
            "type": "object", "required": ["code", "message"], "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "param": {"type": "string"}},
        }},
    },
    "LineItem": {
        "type": "object", "required": ["name", "unit_amount", "quantity", "amount"],
        "properties": {**LINE_ITEM_IN["properties"], "amount": {"type": "integer"}},
    },
    "Payment": {
        "type": "object",
        "required": ["provider_session_id", "method", "amount", "currency", "paid_at", "provider_reference"],
        "properties": {
            "provider_session_id": {"type": "string"}, "method": {"type": "string"}, "amount": {"type": "integer"},
            "currency": {"type": "string"}, "paid_at": {"type": "string", "format": "date-time"},
            "provider_reference": {"type": ["string", "null"]},
        },
    },
    "Checkout": {
        "type": "object",
        "required": ["id", "object", "url", "status", "amount_total", "currency", "line_items", "customer",
                     "client_reference_id", "metadata", "provider", "payment", "created_at", "expires_at"],
        "properties": {
            "id": {"type": "string", "pattern": "^chk_"},
            "object": {"const": "checkout"},
            "url": {"type": "string"},
            "status": {"enum": STATUSES},
            "amount_total": {"type": "integer", "description": "amount_subtotal - amount_discount: what the shopper pays"},
            "amount_subtotal": {"type": "integer", "description": "the lines' sum, before discount"},
            "amount_discount": {"type": "integer"},
            "promotion_code": {"type": ["string", "null"]},
            "allow_promotion_codes": {"type": "boolean"},
            "promotion_over_limit": {"type": "boolean", "description": "paid after its reserved use was given back, "
                                     "when the code had run out: honoured, not counted"},
            "amount_refunded": {"type": "integer"},
            "currency": {"type": "string"},
            "line_items": {"type": "array", "items": ref("LineItem")},
            "customer": {"type": "object"},
            "client_reference_id": {"type": ["string", "null"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "locale": {"enum": ["ko", "en"]},
            "payment_method_types": {"type": "array", "items": {"enum": METHODS}},
            "collect_shipping_address": {"type": "boolean"},
            "success_url": {"type": "string"},
            "cancel_url": {"type": "string"},
            "provider": {"type": "string"},
            "payment": {"oneOf": [ref("Payment"), {"type": "null"}]},
            "late_payment": {"type": "boolean"},
            "amount_mismatch": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "shipping": {"oneOf": [ref("Shipping"), {"type": "null"}],
                         "description": "recipient and delivery, set when the shopper submits a shipped order"},
            "cash_receipt": {"oneOf": [ref("CashReceipt"), {"type": "null"}],
                             "description": "현금영수증, for bank_transfer and virtual_account payments in KRW"},
            "installment_months": {"type": ["integer", "null"], "enum": [None, 0, *range(2, 13)],
                                   "description": "card 할부: 0 = 일시불; null when not offered"},
            "marketing_opt_in": {"type": "boolean", "description": "the shopper's optional marketing consent"},
            "warnings": {"type": "array", "items": ref("Warning"),
                         "description": "only on the create response: what the merchant should fix "
                                        "(business_profile_incomplete for a Korean storefront)"},
        },
    },
    "Shipping": {
        "type": "object",
        "required": ["name", "phone", "phone2", "postal_code", "address1", "address_jibun", "address2", "request",
                     "request_type", "entrance_code"],
        "properties": {
            "name": {"type": ["string", "null"], "description": "the recipient (the orderer's when 주문자 정보와 동일)"},
            "phone": {"type": ["string", "null"]}, "phone2": {"type": ["string", "null"]},
            "postal_code": {"type": ["string", "null"], "pattern": "^[0-9]{5}$"},
            "address1": {"type": ["string", "null"], "description": "도로명주소"},
            "address_jibun": {"type": ["string", "null"], "description": "지번주소"},
            "address2": {"type": ["string", "null"], "description": "상세주소"},
            "request": {"type": ["string", "null"], "maxLength": 50,
                        "description": "배송 요청사항 as the courier reads it: the preset's Korean text or the shopper's own"},
            "request_type": {"enum": [None, "door", "security_office", "parcel_box", "call_before", "custom"]},
            "entrance_code": {"type": ["string", "null"], "description": "공동현관 출입번호"},
        },
    },
    "CashReceipt": {
        "type": "object", "required": ["type", "id", "sent_to_provider", "issue_required"],
        "properties": {
            "type": {"enum": ["none", "income_deduction", "expense_proof"]},
            "id": {"type": ["string", "null"], "description": "digits: a mobile number (소득공제) or 사업자등록번호 (지출증빙)"},
            "sent_to_provider": {"type": "boolean", "description": "false: the provider has no field for it; "
                                 "the merchant issues the receipt"},
            "issue_required": {"type": "boolean", "description": "a cash payment of ₩100,000 or more: the merchant "
                               "must issue a receipt even when the shopper asked for none"},
        },
    },
    "Warning": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "missing": {"type": "array", "items": {"type": "string"}}},
    },
    "CheckoutList": {
        "type": "object", "required": ["object", "data", "has_more"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Checkout")},
                       "has_more": {"type": "boolean"}},
    },
    "Event": {
        "type": "object",
        "required": ["id", "object", "type", "checkout_id", "created", "delivery_status", "attempts"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_"}, "object": {"const": "event"},
            "type": {"enum": ["checkout.completed", "checkout.payment_failed", "checkout.expired", "checkout.cancelled",
                              "checkout.refunded"]},
            "checkout_id": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
            "delivery_status": {"enum": ["pending", "succeeded", "failed", "no_endpoint"]},
            "attempts": {"type": "integer", "minimum": 0},
            "last_response_code": {"type": ["integer", "null"]},
            "last_attempt_at": {"type": ["string", "null"]}, "next_attempt_at": {"type": ["string", "null"]},
        },
    },
    "EventList": {
        "type": "object", "required": ["object", "data", "has_more"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Event")},
                       "has_more": {"type": "boolean"}},
    },
    "Refund": {
        "type": "object", "required": ["id", "object", "checkout_id", "amount", "currency", "provider", "checkout"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "refund"}, "checkout_id": {"type": "string"},
            "amount": {"type": "integer"}, "currency": {"type": "string"}, "reason": {"type": ["string", "null"]},
            "provider": {"type": "string"}, "provider_refund_id": {"type": ["string", "null"]},
            "created_at": {"type": "string"}, "checkout": ref("Checkout"),
        },
    },
    "PaymentLink": {
        "type": "object", "required": ["id", "object", "url", "active", "created_at"],
        "properties": {"id": {"type": "string", "pattern": "^plink_"}, "object": {"const": "payment_link"},
                       "url": {"type": "string"}, "active": {"type": "boolean"},
                       "created_at": {"type": "string"}, "template": {"type": "object"}},
    },
    "PromotionCode": {
        "type": "object",
        "required": ["object", "code", "type", "value", "currency", "product_ids", "valid_from", "valid_until",
                     "minimum_order_amount", "usage_limit", "usage_limit_per_customer", "active", "times_redeemed",
                     "created_at"],
        "properties": {
            "object": {"const": "promotion_code"}, "code": {"type": "string"}, "type": {"enum": PROMOTION_TYPES},
            "value": {"type": ["integer", "null"]}, "value_type": {"enum": ["percentage", "fixed_amount", None]},
            "currency": {"type": ["string", "null"]}, "product_ids": {"type": "array", "items": {"type": "string"}},
            "valid_from": {"type": ["string", "null"]}, "valid_until": {"type": ["string", "null"]},
            "minimum_order_amount": {"type": ["integer", "null"]}, "usage_limit": {"type": ["integer", "null"]},
            "usage_limit_per_customer": {"type": ["integer", "null"]}, "active": {"type": "boolean"},
            "times_redeemed": {"type": "integer", "minimum": 0},
            "reserved": {"type": "integer", "minimum": 0, "description": "uses held by checkouts at a provider now"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "PromotionCodeList": {
        "type": "object", "required": ["object", "data", "has_more"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("PromotionCode")},
                       "has_more": {"type": "boolean"}},
    },
    "Balance": {
        "type": "object", "required": ["object", "available"],
        "properties": {
            "object": {"const": "balance"}, "provider": {"type": "string"}, "wallet_id": {"type": ["string", "null"]},
            "livemode": {"type": "boolean"},
            "available": {"type": "array", "items": {"type": "object", "required": ["amount", "currency"],
                                                     "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}}}},
            "total": {"type": "array"},
        },
    },
}

CHECKOUT_ID = {"name": "checkout_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 100}}
CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 100}}
AUTH_ERRORS = (400, 401, 404)


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hosted checkout — merchant API", "version": "1.0.0",
                 "description": "Amounts are integer minor units. Errors: {\"error\": {code, message, param?}}."},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/checkouts": {
                "post": {
                    "operationId": "createCheckout",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": CREATE_CHECKOUT}}},
                    "responses": {**ok(201, ref("Checkout"), "Created (or the first response, replayed)"),
                                  **errors(400, 401, 409, 422, 503)},
                },
                "get": {
                    "operationId": "listCheckouts",
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"enum": STATUSES}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                        {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {**ok(200, ref("CheckoutList"), "Newest first"), **errors(400, 401, 503)},
                },
            },
            "/api/checkouts/{checkout_id}": {
                "get": {"operationId": "getCheckout", "parameters": [CHECKOUT_ID],
                        "responses": {**ok(200, ref("Checkout"), "The checkout"), **errors(*AUTH_ERRORS, 503)}},
                "patch": {
                    "operationId": "updateCheckout", "parameters": [CHECKOUT_ID],
                    "description": "While open: one conditional write; the total and discount are computed again. "
                                   "409 in any other status (processing included).",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": UPDATE_CHECKOUT}}},
                    "responses": {**ok(200, ref("Checkout"), "Updated"), **errors(*AUTH_ERRORS, 409, 422, 503)},
                },
            },
            "/api/checkouts/{checkout_id}/cancel": {
                "post": {"operationId": "cancelCheckout", "parameters": [CHECKOUT_ID],
                         "responses": {**ok(200, ref("Checkout"), "Cancelled"), **errors(*AUTH_ERRORS, 409, 503)}},
            },
            "/api/checkouts/{checkout_id}/refunds": {
                "post": {
                    "operationId": "refundCheckout", "parameters": [CHECKOUT_ID],
                    "requestBody": {"required": False, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False,
                        "properties": {"amount": {"type": "integer", "minimum": 1}, "reason": {"type": "string", "maxLength": 500}},
                    }}}},
                    "responses": {**ok(201, ref("Refund"), "Refunded"), **errors(*AUTH_ERRORS, 409, 422, 502, 503)},
                },
            },
            "/api/events": {
                "get": {
                    "operationId": "listEvents",
                    "parameters": [{"name": "checkout_id", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "responses": {**ok(200, ref("EventList"), "The checkout's events, oldest first"), **errors(*AUTH_ERRORS, 503)},
                },
            },
            "/api/events/{event_id}/resend": {
                "post": {
                    "operationId": "resendEvent",
                    "parameters": [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {**ok(200, ref("Event"), "One more delivery attempt, recorded"), **errors(*AUTH_ERRORS, 503)},
                },
            },
            "/api/payment-links": {
                "post": {
                    "operationId": "createPaymentLink",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": CREATE_PAYMENT_LINK}}},
                    "responses": {**ok(201, ref("PaymentLink"), "Created"), **errors(400, 401, 422, 503)},
                },
            },
            "/api/payment-links/{link_id}": {
                "get": {
                    "operationId": "getPaymentLink",
                    "parameters": [{"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {**ok(200, ref("PaymentLink"), "The link"), **errors(*AUTH_ERRORS, 503)},
                },
                "post": {
                    "operationId": "updatePaymentLink",
                    "parameters": [{"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False, "required": ["active"],
                        "properties": {"active": {"type": "boolean"}}}}}},
                    "responses": {**ok(200, ref("PaymentLink"), "Updated"), **errors(*AUTH_ERRORS, 503)},
                },
            },
            "/api/promotion-codes": {
                "post": {
                    "operationId": "createPromotionCode",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": CREATE_PROMOTION_CODE}}},
                    "responses": {**ok(201, ref("PromotionCode"), "Created"), **errors(400, 401, 409, 503)},
                },
                "get": {
                    "operationId": "listPromotionCodes",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                        {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {**ok(200, ref("PromotionCodeList"), "In code order"), **errors(400, 401, 503)},
                },
            },
            "/api/promotion-codes/{code}": {
                "get": {"operationId": "getPromotionCode", "parameters": [CODE],
                        "responses": {**ok(200, ref("PromotionCode"), "The code"), **errors(*AUTH_ERRORS, 503)}},
                "post": {
                    "operationId": "updatePromotionCode", "parameters": [CODE],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False, "required": ["active"],
                        "properties": {"active": {"type": "boolean"}}}}}},
                    "responses": {**ok(200, ref("PromotionCode"), "Updated"), **errors(*AUTH_ERRORS, 503)},
                },
            },
            "/api/balance": {
                "get": {"operationId": "getBalance",
                        "responses": {**ok(200, ref("Balance"), "Wallet balances"), **errors(400, 401, 422, 502, 503)}},
            },
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
            "schemas": SCHEMAS,
        },
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    (ROOT / "chalicelib" / "openapi.json").write_text(render())
    print("wrote chalicelib/openapi.json")
