"""The state machine, as a table: every pair of states, allowed or not."""
import itertools

import pytest

from chalicelib.domain import model
from chalicelib.domain.errors import StateConflict
from chalicelib.domain.model import Attempt, Checkout, LineItem, Payment

NOW = 1_800_000_000

ALLOWED = {
    ("open", "processing"), ("open", "complete"), ("open", "expired"), ("open", "cancelled"),
    ("processing", "open"), ("processing", "complete"), ("processing", "expired"), ("processing", "cancelled"),
    ("expired", "complete"), ("cancelled", "complete"),
    ("complete", "partially_refunded"), ("complete", "refunded"),
    ("partially_refunded", "partially_refunded"), ("partially_refunded", "refunded"),
}


def make(status="open", expires_in=3600, **kw):
    c = Checkout(
        id="chk_test0000000000", merchant_id="m1", status=status, version=3, currency="KRW",
        line_items=[LineItem("차", 10000, 2), LineItem("배송", 3000, 1)],
        success_url="https://shop.example/ok", cancel_url="https://shop.example/no",
        provider="sandbox", created_at_s=NOW - 100, expires_at_s=NOW + expires_in, locale="ko",
        payment_method_types=["card"], collect_shipping_address=True,
    )
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def payment(amount=23000):
    return Payment(provider_session_id="sbx_1", method="card", amount=amount, currency="KRW", paid_at_s=NOW)


@pytest.mark.parametrize("src,dst", list(itertools.product(model.STATUSES, repeat=2)))
def test_transition_table_is_exactly_the_spec(src, dst):
    assert (dst in model.TRANSITIONS[src]) == ((src, dst) in ALLOWED)


@pytest.mark.parametrize("final", ["refunded"])
def test_final_states_never_go_back(final):
    assert model.TRANSITIONS[final] == frozenset()


def test_amount_total_is_the_sum_of_line_items():
    assert make().amount_total == 23000


@pytest.mark.parametrize("status,expires_in,view", [
    ("open", 10, "open"), ("open", 0, "expired"), ("open", -5, "expired"),
    ("processing", -5, "expired"), ("complete", -5, "complete"), ("cancelled", -5, "cancelled"),
])
def test_an_unpaid_checkout_past_expiry_reads_as_expired(status, expires_in, view):
    assert make(status, expires_in).view_status(NOW) == view


def test_lock_moves_open_to_processing_with_the_attempt():
    attempt = Attempt("att_1", "sandbox", "card", NOW)
    plan = model.plan_lock(make(), attempt, {"name": "홍길동"}, NOW)
    assert (plan.from_status, plan.from_version, plan.to_status) == ("open", 3, "processing")
    assert plan.set_fields["attempt"] is attempt and plan.event_type is None


@pytest.mark.parametrize("status,expires_in", [("processing", 100), ("complete", 100), ("open", -1), ("cancelled", 100)])
def test_lock_is_refused_unless_open(status, expires_in):
    with pytest.raises(StateConflict):
        model.plan_lock(make(status, expires_in), Attempt("att_1", "sandbox", "card", NOW), {}, NOW)


def test_complete_emits_one_completed_event_and_is_not_planned_twice():
    plan = model.plan_complete(make("processing"), payment(), NOW)
    assert plan.to_status == "complete" and plan.event_type == "checkout.completed" and plan.event_key == "checkout.completed"
    assert plan.set_fields["late_payment"] is False
    assert model.plan_complete(make("complete"), payment(), NOW) is None


@pytest.mark.parametrize("status,expires_in", [("expired", -10), ("cancelled", 100), ("open", -10), ("processing", -10)])
def test_payment_confirmed_after_expiry_or_cancel_completes_as_late(status, expires_in):
    plan = model.plan_complete(make(status, expires_in), payment(), NOW)
    assert plan.to_status == "complete" and plan.set_fields["late_payment"] is True


def test_a_late_failure_never_touches_a_completed_checkout():
    attempt = Attempt("att_1", "sandbox", "card", NOW)
    assert model.plan_release(make("complete", attempt=attempt), "att_1", True, "payment_failed", NOW) is None


def test_release_only_for_the_current_attempt():
    attempt = Attempt("att_2", "sandbox", "card", NOW)
    checkout = make("processing", attempt=attempt)
    assert model.plan_release(checkout, "att_1", True, "payment_failed", NOW) is None
    plan = model.plan_release(checkout, "att_2", True, "payment_failed", NOW)
    assert plan.to_status == "open" and plan.event_type == "checkout.payment_failed"
    assert plan.event_key == "checkout.payment_failed#att_2" and "attempt" in plan.remove_fields


def test_shopper_cancel_at_provider_releases_without_an_event():
    checkout = make("processing", attempt=Attempt("att_2", "sandbox", "card", NOW))
    plan = model.plan_release(checkout, "att_2", False, "cancelled_at_provider", NOW)
    assert plan.to_status == "open" and plan.event_type is None


@pytest.mark.parametrize("status,expires_in,ok", [
    ("open", 100, True), ("processing", 100, True), ("open", -1, False), ("complete", 100, False), ("cancelled", 100, False),
])
def test_merchant_cancel(status, expires_in, ok):
    if ok:
        assert model.plan_cancel(make(status, expires_in), NOW).event_type == "checkout.cancelled"
    else:
        with pytest.raises(StateConflict):
            model.plan_cancel(make(status, expires_in), NOW)


def test_applied_returns_the_checkout_as_it_will_be():
    checkout = make("processing", attempt=Attempt("att_2", "sandbox", "card", NOW), last_error="x")
    after = model.applied(checkout, model.plan_complete(checkout, payment(), NOW))
    assert (after.status, after.version, after.last_error) == ("complete", 4, None)
    assert checkout.status == "processing"


def test_api_object_has_the_spec_fields():
    obj = model.to_api_object(make(), "https://pay.example/c/chk_test0000000000", NOW)
    for key in ("id", "object", "url", "status", "amount_total", "currency", "line_items", "customer",
                "client_reference_id", "metadata", "provider", "payment", "created_at", "expires_at"):
        assert key in obj
    assert obj["object"] == "checkout" and obj["payment"] is None and obj["amount_total"] == 23000


def test_the_domain_imports_nothing_from_chalice_or_boto3():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(model))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("chalice", "boto3", "botocore")}
