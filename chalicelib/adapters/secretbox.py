"""Encryption of secrets at rest, and keys derived from the one master secret.

The master key is a Fernet key (or several, comma-separated, newest first, for
rotation). It comes from ``CHECKOUT_SECRET_KEY`` for local runs and tests, or in
AWS from the SSM Parameter Store SecureString named by
``CHECKOUT_SECRET_KEY_PARAM``, read once per container. It is never in the repo.

When it cannot be read, every caller gets ``SecretKeyMissing``: a 503 error whose
one-line message names the variable and the parameter, never a botocore trace.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import CheckoutError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SecretKeyMissing(CheckoutError):
    """The master key cannot be read: nothing that needs a secret can be done (503)."""

    http_status = 503
    code = "secret_key_unavailable"


def _from_ssm(param: str) -> str:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = botocore.session.get_session().create_client(
            "ssm", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}))
        response = client.get_parameter(Name=param, WithDecryption=True)
        return str(response["Parameter"]["Value"]).strip()
    except ClientError as e:
        why = str(e.response.get("Error", {}).get("Code") or "an error")
    except BotoCoreError as e:
        why = type(e).__name__
    except (KeyError, TypeError):
        why = "an answer without a value"
    raise SecretKeyMissing(
        f"the master key cannot be read: CHECKOUT_SECRET_KEY is not set and the SSM parameter {param} "
        f"(CHECKOUT_SECRET_KEY_PARAM) could not be read ({why})") from None


@lru_cache(maxsize=1)
def _master_keys() -> tuple[str, ...]:
    raw = os.environ.get("CHECKOUT_SECRET_KEY", "").strip()
    if not raw:
        param = os.environ.get("CHECKOUT_SECRET_KEY_PARAM", "").strip()
        if not param:
            raise SecretKeyMissing(
                "the master key cannot be read: set CHECKOUT_SECRET_KEY (a Fernet key, local runs) or "
                "CHECKOUT_SECRET_KEY_PARAM (the SSM SecureString parameter holding it, in AWS)")
        raw = _from_ssm(param)
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise SecretKeyMissing("the master key cannot be read: CHECKOUT_SECRET_KEY / CHECKOUT_SECRET_KEY_PARAM is empty")
    return keys


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    # cryptography costs ~40 ms to import: only pay it when a secret is touched.
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(k.encode()) for k in _master_keys()])
    except ValueError:
        raise SecretKeyMissing(
            "the master key cannot be used: CHECKOUT_SECRET_KEY (or the SSM parameter named by "
            "CHECKOUT_SECRET_KEY_PARAM) must hold Fernet keys, comma-separated") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True))


def decrypt_json(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(decrypt(token))
    return result


@lru_cache(maxsize=16)
def _derive(master_key: str, purpose: str) -> bytes:
    # Per container: the derivation depends only on the master key (part of the cache key,
    # so a rotated key derives afresh) and the purpose.
    try:
        master = base64.urlsafe_b64decode(master_key)
    except ValueError:
        master = b""
    if len(master) != 32:
        raise SecretKeyMissing(
            "the master key cannot be used: CHECKOUT_SECRET_KEY (or the SSM parameter named by "
            "CHECKOUT_SECRET_KEY_PARAM) must hold Fernet keys, comma-separated")
    return hmac.new(master, b"hosted-checkout:" + purpose.encode(), hashlib.sha256).digest()


def derived_key(purpose: str) -> bytes:
    """A key for one purpose (CSRF tokens, sandbox signatures), from the newest master key."""
    return _derive(_master_keys()[0], purpose)


def derived_keys(purpose: str) -> tuple[bytes, ...]:
    """That purpose's key under every master key, newest first: what was signed before a
    rotation (an open form's CSRF token) still verifies until the old key is dropped."""
    return tuple(_derive(key, purpose) for key in _master_keys())


def new_master_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def reset_cache() -> None:
    _master_keys.cache_clear()
    _fernet.cache_clear()
    _derive.cache_clear()
