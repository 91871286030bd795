"""Merchant wallets at providers that keep one (PayCombat): found or created at
onboarding, and their balances for ``GET /api/balance``.

A provider has a wallet when its adapter implements ``WalletProvider``. Provider
failures become our errors here: a refusal at onboarding is the merchant's
credentials, anything else is a 502; PayCombat's own words never reach an API
response.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.config import settings
from chalicelib.domain.errors import InvalidRequest, ProviderFailed, Unprocessable


class WalletOwner(Protocol):
    """What a balance needs of a merchant (a ``merchants.Merchant``; named here so wallets need not import merchants)."""

    id: str
    provider: str
    wallet_id: str | None
    livemode: bool

    def credentials(self) -> dict[str, str]: ...


@runtime_checkable
class WalletProvider(Protocol):
    def find_or_create_wallet(self, webhook_url: str | None) -> str: ...

    def wallet_balances(self, wallet_id: str) -> dict[str, list[dict[str, Any]]]: ...


def _wallet_adapter(provider: str, merchant_id: str, credentials: Mapping[str, str]) -> WalletProvider | None:
    adapter = providers.build(provider, merchant_id, credentials, settings().public_url or "")
    return adapter if isinstance(adapter, WalletProvider) else None


def onboard(provider: str, merchant_id: str, credentials: Mapping[str, str]) -> str | None:
    """The wallet id to store on a new merchant; None for providers without wallets.

    Finding comes before creating, so running this again (a retried onboarding)
    never makes a second wallet.
    """
    adapter = _wallet_adapter(provider, merchant_id, credentials)
    if adapter is None:
        return None
    public = settings().public_url
    webhook_url = f"{public}/webhooks/{provider}/{merchant_id}" if public else None
    try:
        return adapter.find_or_create_wallet(webhook_url)
    except pb.ProviderRejected as e:
        raise InvalidRequest(
            f"{provider} refused to set up the merchant's wallet; check the credentials. Nothing was created here.",
            "credential",
            code="provider_onboarding_failed",
        ) from e
    except pb.ProviderError as e:
        raise ProviderFailed(
            f"{provider} did not answer while setting up the merchant's wallet. Nothing was created here; try again."
        ) from e


def balance(merchant: WalletOwner) -> dict[str, Any]:
    """The merchant's wallet balances in int minor units: ``{"object": "balance", "available": [...], ...}``."""
    adapter = _wallet_adapter(merchant.provider, merchant.id, merchant.credentials())
    if adapter is None:
        raise Unprocessable(f"the {merchant.provider} provider keeps no wallet; there is no balance to show",
                            code="balance_not_supported")
    if not merchant.wallet_id:
        raise Unprocessable("this merchant has no wallet recorded; onboard it again", code="wallet_missing")
    try:
        balances = adapter.wallet_balances(merchant.wallet_id)
    except pb.ProviderError as e:
        raise ProviderFailed(f"{merchant.provider} did not answer with the balance; try again.") from e
    return {
        "object": "balance",
        "provider": merchant.provider,
        "wallet_id": merchant.wallet_id,
        "livemode": merchant.livemode,
        "available": balances["available"],
        "total": balances["total"],
    }
