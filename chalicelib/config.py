"""Settings, read from the environment once per Lambda container.

Each stage's values live in ``.chalice/config.json``; ``chalice local`` and
``chalice deploy`` put them in the environment, and the admin CLI loads the same
file (see ``load_stage_environment``). Nothing here holds a secret: the
credential key is resolved by ``chalicelib.adapters.secretbox``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

PROVIDER_BASE_VARS = {
    "koreacheckout": "KOREACHECKOUT_API_BASE",
    "paycombat": "PAYCOMBAT_API_BASE",
    "clink": "CLINK_API_BASE",
    "payfect": "PAYFECT_API_BASE",
}


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    sandbox_enabled: bool
    public_url: str | None
    # Plain-http loopback webhook URLs are a developer convenience, never production.
    allow_insecure_webhooks: bool
    provider_bases: dict[str, str]
    unpaid_retention_s: int

    @property
    def live(self) -> bool:
        """The production stage: real money only (no provider test keys, no URLs from the Host header)."""
        return self.stage == "prod"


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


@lru_cache(maxsize=1)
def settings() -> Settings:
    stage = os.environ.get("CHECKOUT_STAGE", "dev")
    public_url = os.environ.get("CHECKOUT_PUBLIC_URL", "").strip().rstrip("/") or None
    return Settings(
        stage=stage,
        table_name=os.environ.get("CHECKOUT_TABLE", f"hosted-checkout-{stage}"),
        sandbox_enabled=_flag("CHECKOUT_SANDBOX"),
        public_url=public_url,
        allow_insecure_webhooks=_flag("CHECKOUT_ALLOW_INSECURE_WEBHOOKS"),
        provider_bases={
            name: os.environ[var].rstrip("/")
            for name, var in PROVIDER_BASE_VARS.items()
            if os.environ.get(var)
        },
        unpaid_retention_s=int(os.environ.get("CHECKOUT_UNPAID_RETENTION_S", str(30 * 86400))),
    )


def load_stage_environment(stage: str, config_path: Path | None = None) -> None:
    """Put a stage's environment variables from .chalice/config.json into os.environ.

    Variables already set win, so a developer can override one for a run. Used by
    the admin CLI, which runs outside Chalice.
    """
    path = config_path or PROJECT_DIR / ".chalice" / "config.json"
    config = json.loads(path.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"unknown stage {stage!r}; .chalice/config.json has {sorted(config['stages'])}")
    merged = dict(config.get("environment_variables", {}))
    merged.update(config["stages"][stage].get("environment_variables", {}))
    for key, value in merged.items():
        os.environ.setdefault(key, value)
    settings.cache_clear()
