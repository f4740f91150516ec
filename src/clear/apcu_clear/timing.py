"""The longest a boto3 call can take, from its client's configuration. Both functions size
their time budgets with it, so the two figures come from one formula."""

from __future__ import annotations

from typing import Any

from botocore.config import Config as BotoConfig
from botocore.retries.standard import ExponentialBackoff


def worst_call(config: BotoConfig) -> float:
    """The longest one call with this config can take: every attempt connects and reads to
    its timeout, and every wait between attempts is botocore's longest (standard mode:
    throttling base 1 s doubling, capped, plus up to 5 s more for an x-amz-retry-after)."""
    # botocore sets Config's options as attributes, which its stubs do not declare.
    options: Any = config
    retries = options.retries or {}
    attempts = int(retries.get("total_max_attempts", int(retries.get("max_attempts", 4)) + 1))
    per_attempt = float(options.connect_timeout) + float(options.read_timeout)
    # botocore's own constants, so that a botocore whose waits grow changes the figure.
    backoff: Any = ExponentialBackoff
    base = float(backoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"])
    extra = float(getattr(backoff, "_RETRY_AFTER_MAX_ADDITIONAL", 0))
    waits = sum(
        min(base * backoff._BASE ** (n - 1), backoff._MAX_BACKOFF) + extra
        for n in range(1, attempts)
    )
    return float(attempts * per_attempt + waits)
