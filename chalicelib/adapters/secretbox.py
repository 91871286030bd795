"""Encryption of secrets at rest, and keys derived from the one master secret.

The master key is a Fernet key (or several, comma-separated, newest first, for
rotation). It comes from ``CHECKOUT_SECRET_KEY`` for local runs and tests, or in
AWS from the SSM Parameter Store SecureString named by
``CHECKOUT_SECRET_KEY_PARAM``, read once per container. It is never in the repo.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SecretKeyMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _master_keys() -> tuple[str, ...]:
    raw = os.environ.get("CHECKOUT_SECRET_KEY", "").strip()
    if not raw:
        param = os.environ.get("CHECKOUT_SECRET_KEY_PARAM", "").strip()
        if not param:
            raise SecretKeyMissing(
                "set CHECKOUT_SECRET_KEY (local) or CHECKOUT_SECRET_KEY_PARAM (an SSM SecureString)"
            )
        import botocore.session

        response = botocore.session.get_session().create_client("ssm").get_parameter(Name=param, WithDecryption=True)
        raw = response["Parameter"]["Value"].strip()
    return tuple(k.strip() for k in raw.split(",") if k.strip())


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    # cryptography costs ~40 ms to import: only pay it when a secret is touched.
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(k.encode()) for k in _master_keys()])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True))


def decrypt_json(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(decrypt(token))
    return result


def derived_key(purpose: str) -> bytes:
    """A key for one purpose (CSRF tokens, sandbox signatures), from the newest master key."""
    master = base64.urlsafe_b64decode(_master_keys()[0])
    return hmac.new(master, b"hosted-checkout:" + purpose.encode(), hashlib.sha256).digest()


def new_master_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def reset_cache() -> None:
    _master_keys.cache_clear()
    _fernet.cache_clear()
