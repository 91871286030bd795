"""The provider interface: what every adapter does, and the types it speaks.

An adapter maps our checkout to the provider's request, and the provider's
answers and notifications back to our closed set of payment states. It never
decides a checkout's state itself: ``chalicelib.usecases.payments`` does, after an
authenticated read. Operations a provider lacks raise a typed error instead of
pretending.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol

from chalicelib.domain import money
from chalicelib.domain.discounts import charge_lines
from chalicelib.domain.errors import Unprocessable
from chalicelib.domain.model import Checkout, LineItem

# What a provider can say about a payment, whatever its own words. An adapter
# maps every status it knows here explicitly; anything else is UNKNOWN, which
# is never treated as paid.
PAID = "paid"
PENDING = "pending"          # waiting for something outside the browser (a deposit)
OPEN = "open"                # not paid yet; the shopper may still pay
FAILED = "failed"
CANCELLED = "cancelled"
EXPIRED = "expired"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially_refunded"
UNKNOWN = "unknown"

PAYMENT_STATES = frozenset({PAID, PENDING, OPEN, FAILED, CANCELLED, EXPIRED, REFUNDED, PARTIALLY_REFUNDED, UNKNOWN})


class ProviderError(Exception):
    """The provider did not answer usefully: timeout, 5xx, connection error, garbage.

    ``fallback_ok`` says whether another provider may be tried: true for
    transport failures and 5xx, false for the provider refusing our request.
    """

    fallback_ok = True


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx): a fallback would refuse it too."""

    fallback_ok = False


def exact_total(provider: str, field: str, value: object, raw_currency: object) -> tuple[int | None, str | None]:
    """A provider's major-unit total and currency -> (our minor units, upper-case currency).

    No total gives None; a currency we do not know, or a value with more digits
    than the currency has, is a ProviderError (never rounded into a match).
    """
    currency = raw_currency.upper() if isinstance(raw_currency, str) else None
    if value is None:
        return None, currency
    if currency is None or not money.is_supported(currency):
        raise ProviderError(f"{provider} answered in a currency we do not know: {raw_currency!r}")
    try:
        return money.from_major(value, currency), currency
    except ValueError as e:
        raise ProviderError(f"{provider}'s {field} is not an exact {currency} amount") from e


class ProviderMemory(Protocol):
    """What an adapter may keep between requests (replay markers, the sandbox's own sessions).

    The store is passed in as this, so adapters never import it.
    """

    def remember(self, record: dict[str, Any]) -> bool:
        """Write a record that must be new; False when one with its key exists already."""

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None: ...

    def get_checkout(self, checkout_id: str) -> Checkout | None: ...


class RefundNotSupported(Unprocessable):
    code = "refund_not_supported"


# What a provider can say about one refund.
REFUND_SUCCEEDED = "succeeded"
REFUND_PENDING = "pending"      # accepted, not yet done
REFUND_FAILED = "failed"
REFUND_UNKNOWN = "unknown"      # never read as done: the next read decides
REFUND_STATES = frozenset({REFUND_SUCCEEDED, REFUND_PENDING, REFUND_FAILED, REFUND_UNKNOWN})


@dataclass
class SessionRequest:
    """One attempt to pay ``checkout``.

    ``line_items`` and ``amount_total`` are what the provider is asked to charge: the
    checkout's lines with any promotion discount allocated over them (they add up to
    ``amount_total`` exactly, in minor units). Adapters send these, never the
    checkout's own undiscounted lines.
    """

    checkout: Checkout
    attempt_id: str
    method: str
    shopper: Mapping[str, str]
    return_url: str
    cancel_url: str
    notify_url: str
    bank: str | None = None
    line_items: list[LineItem] | None = None
    amount_total: int = -1
    # 할부 months (0 = 일시불) and the 현금영수증 request ({"type", "id"?}): only ever set for an
    # adapter whose takes_installments / takes_cash_receipts says it has a field for them.
    installment_months: int | None = None
    cash_receipt: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.line_items is None:
            checkout = self.checkout
            self.line_items = charge_lines(checkout.line_items, checkout.promotion, checkout.amount_discount)
        if self.amount_total < 0:
            self.amount_total = self.checkout.amount_total

    @property
    def lines(self) -> list[LineItem]:
        return self.line_items or []


@dataclass
class ProviderSession:
    session_id: str
    redirect_url: str


@dataclass
class ProviderPayment:
    """An authenticated read of a provider session, in our terms."""

    session_id: str
    status: str
    raw_status: str
    amount: int | None = None
    currency: str | None = None
    method: str | None = None
    checkout_id: str | None = None
    provider_reference: str | None = None
    paid_at_s: int | None = None
    pending: dict[str, Any] | None = None




@dataclass
class ProviderRefund:
    """An authenticated read of one refund, in our terms (amount in minor units)."""

    refund_id: str
    status: str
    raw_status: str
    provider_refund_id: str | None = None
    amount: int | None = None
    currency: str | None = None


@dataclass
class Notification:
    """A verified notification: which session it speaks of. It proves nothing about payment."""

    event: str
    session_id: str | None = None
    checkout_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # For a scheme whose signature covers no time: a digest the use case records on the
    # checkout with the change the notification causes, so the same body is refused later.
    replay_digest: str | None = None


class Provider(ABC):
    name: ClassVar[str]
    # How the shopper knows the provider ("Continue to PayCombat").
    display_name: ClassVar[str] = ""
    currencies: ClassVar[frozenset[str]]
    methods: ClassVar[frozenset[str]]
    credential_names: ClassVar[tuple[str, ...]]
    supports_refunds: ClassVar[bool] = False
    # Whether the provider's API documents a field for the shopper's 할부 choice and for a
    # 현금영수증 request. Without one, the page offers no 할부 choice (the card company's own
    # window asks) and a cash receipt request stays on the checkout for the merchant to issue.
    takes_installments: ClassVar[bool] = False
    takes_cash_receipts: ClassVar[bool] = False
    # Where the provider's API lives when the stage does not say (PROVIDER_API_BASE).
    default_base_url: ClassVar[str] = ""

    @classmethod
    def default_base(cls, credentials: Mapping[str, str]) -> str:
        """The API base when the stage sets none: by the credentials' mode (``is_test_mode``)."""
        return cls.api_base(cls.is_test_mode(credentials))

    @classmethod
    def api_base(cls, test_mode: bool) -> str:
        """The API base for test or live credentials; a provider may have a sandbox host."""
        return cls.default_base_url

    @classmethod
    def page_origins(cls, test_mode: bool) -> tuple[str, ...]:
        """Origins of the provider's hosted payment pages (for test or live credentials),
        where our form's POST is redirected.

        Browsers apply the page's CSP ``form-action`` to every redirect after a form
        POST, so these must be allowed on the checkout page. They depend on the
        credentials' mode only, which is not a secret: the page needs no decryption.
        """
        return ()

    @classmethod
    def is_test_mode(cls, credentials: Mapping[str, str]) -> bool:
        """Whether these are the provider's test (sandbox) credentials: refused in production."""
        return False

    @classmethod
    def check_credentials(cls, credentials: Mapping[str, str]) -> None:
        """Refuse credentials that cannot work (raise ValueError with a message naming the key)."""
        return None

    def __init__(self, merchant_id: str, credentials: Mapping[str, str], base_url: str,
                 memory: ProviderMemory | None = None) -> None:
        self.merchant_id = merchant_id
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self._memory = memory

    @property
    def memory(self) -> ProviderMemory:
        """The store, for adapters that remember what they were sent; given by ``providers.build``."""
        if self._memory is None:
            raise ProviderError(f"the {self.name} adapter was built without the store it needs")
        return self._memory

    @abstractmethod
    def create_session(self, request: SessionRequest) -> ProviderSession:
        """Create a hosted payment session for one attempt; idempotent per attempt id.

        Raises ProviderError when the provider did not answer usefully.
        """

    @abstractmethod
    def read_session(self, session_id: str) -> ProviderPayment:
        """An authenticated read of the session. Raises ProviderError."""

    @abstractmethod
    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> Notification:
        """Check a notification's signature (or the provider's equivalent).

        Raises NotificationRejected; a verified notification is still only a hint
        to read the session.
        """

    def read_notified(self, note: Notification) -> ProviderPayment | None:
        """An authenticated read of the payment a verified notification names by the provider's own id.

        For providers whose notifications name a payment rather than our session (PayCombat's
        payin id): it settles a payment on an attempt the checkout has moved past, or whose
        session was never recorded. None when the provider has no such read or the
        notification names no payment. Raises ProviderError.
        """
        return None

    def refund(self, session_id: str, amount: int, currency: str, reason: str | None, refund_id: str) -> str:
        """Refund part or all of a paid session; returns the provider's refund id ("" if it names none).

        ``refund_id`` is our stable id of this refund: where the provider takes an
        idempotency key it is sent as that key, so a repeat of the same refund (a
        retry after a lost answer) can never refund twice. Raises ProviderRejected
        when the provider refuses, ProviderError when the outcome is unknown.
        """
        raise RefundNotSupported(f"{self.name} has no refund API; refund in the provider's dashboard")

    def read_refund(self, session_id: str, refund_id: str, provider_refund_id: str | None = None) -> ProviderRefund:
        """An authenticated read of one refund (ours: ``refund_id``), for reconciliation.

        Raises RefundNotSupported where the provider has no way to read a refund back,
        ProviderError when it did not answer usefully.
        """
        raise RefundNotSupported(f"{self.name} has no API to read a refund back")
