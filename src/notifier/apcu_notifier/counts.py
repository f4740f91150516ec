"""Verdict -> the counts per cache the command record keeps, for the status route and
`apcu-flush --wait`: one entry for each cache the action touched, none for the others."""

from __future__ import annotations

from apcu_clear.item import ApcuCount, OpcacheCount
from apcu_notifier.facts import CACHES, DEFAULT_ACTION
from apcu_notifier.verdict import Verdict


def _caches(verdict: Verdict) -> frozenset[str]:
    return CACHES.get(verdict.action, CACHES[DEFAULT_ACTION])


def apcu_count(verdict: Verdict) -> ApcuCount | None:
    if "apcu" not in _caches(verdict):
        return None
    c = verdict.cleared
    return ApcuCount(instances=c.instances, entries=c.entries) if c else ApcuCount(0, 0)


def opcache_count(verdict: Verdict) -> OpcacheCount | None:
    if "opcache" not in _caches(verdict):
        return None
    r = verdict.reset
    if r is None:
        return OpcacheCount(0, 0)
    return OpcacheCount(
        instances=r.instances,
        scripts=r.scripts,
        preload=r.preload,
        file_cache=r.file_cache,
        validate_timestamps=len(r.validate_timestamps),
    )
