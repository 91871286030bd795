"""Providers by name. Adapters are imported only when a merchant uses them."""
from __future__ import annotations

import importlib
from typing import Mapping

from chalicelib.adapters.providers.base import Provider, ProviderMemory, ProviderRejected
from chalicelib.config import settings

# name -> module defining ``Adapter``; the provider's credential names and
# capabilities are class attributes there.
_MODULES = {
    "sandbox": "chalicelib.adapters.providers.sandbox",
    "paycombat": "chalicelib.adapters.providers.paycombat",
    "koreacheckout": "chalicelib.adapters.providers.koreacheckout",
    "clink": "chalicelib.adapters.providers.clink",
    "payfect": "chalicelib.adapters.providers.payfect",
}

PROVIDER_NAMES = tuple(_MODULES)


class UnknownProvider(ValueError):
    pass


def adapter_class(name: str) -> type[Provider]:
    if name not in _MODULES:
        raise UnknownProvider(f"unknown provider {name!r}; available: {', '.join(_MODULES)}")
    cls: type[Provider] = importlib.import_module(_MODULES[name]).Adapter
    return cls


def is_enabled(name: str) -> bool:
    return name != "sandbox" or settings().sandbox_enabled


def build(name: str, merchant_id: str, credentials: Mapping[str, str], public_base: str,
          memory: ProviderMemory | None = None) -> Provider:
    """An adapter for one merchant. The sandbox lives on our own host, under public_base;
    ``memory`` (the store) is for adapters that remember what they were sent."""
    cls = adapter_class(name)
    if settings().live and cls.is_test_mode(credentials):
        # A test key picks the provider's sandbox: in production it would "sell" without taking money.
        raise ProviderRejected(f"{name} test credentials are refused in production; use the live keys")
    if name == "sandbox":
        base = public_base
    else:
        base = settings().provider_bases.get(name) or cls.default_base(credentials)
    return cls(merchant_id, credentials, base, memory)
