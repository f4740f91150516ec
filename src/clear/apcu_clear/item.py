"""The item's shape (camelCase attributes) and its conversion to and from DynamoDB's typed form.

    commandId (S, key)   group (S)   prefix (S, "" = whole cache)   requester (S)   comment (S)
    action (S: clear-apcu | reset-opcache | clear-all; absent on items older than the action)
    origin (S: api | console | warm-pool | retry)   requestedAt, expiresAt (S, ISO 8601 UTC)
    retryOf (S, on a retry command): the id of the clear's first command
    retries (L of S, on a clear's first command): the retry commands sent for it, in order
    state (S: sent | judged)   ttl (N, epoch seconds: the table's TTL attribute)
    verdict (M, once judged): kind, alert, expected (absent when there is no count to hold
        the command to), targeted, succeeded, missingInstances, problems (instanceId, status,
        detail, reason), staleInstances (at most MAX_STALE_INSTANCES) and staleCount (all of
        them): the InService instances the verdict leaves stale, postedAt, via, and per cache
        the action touched: apcu (instances, entries), opcache (instances, scripts, preload,
        fileCache, validateTimestamps)
    claim (M, while a verdict is being posted): token, until (epoch seconds)
    lifecycle (M, for a clear that holds a launch lifecycle hook): hookName, token, instanceId
    slackMessage (M, on a clear's first command in Slack app mode): channel, ts: the one
        message the clear lives in, updated in place (chat.update) as it goes
    slackMessageClaim (M, while that message is being posted): token, until
    slackReplies (SS, under slackMessage): the thread replies Slack took, each posted once
    judgedBy (S, once judged): the token of the claim that posted the verdict
    clearClaim (S, absent on items older than it): the key of the item that claims the
        clear's target (apcu_clear.claim), ended when the verdict is in
    stuckAlertedAt (S, once a stuck alert was posted)
    neverEndedAlertedAt (S, once the watchdog gave up on a command that never ended)
    stuckAlertClaim, neverEndedAlertClaim (M, while that alert is being posted): token, until
    slackMessageClaim (M, while the clear's Slack message is being posted): token, until

An item the notifier created for a command the dispatcher never recorded has no requestedAt:
it only remembers that a verdict was posted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# DynamoDB items are at most 400 KB; these keep a verdict for a fleet of thousands well below.
MAX_LISTED_INSTANCES = 100
MAX_LISTED_PROBLEMS = 20
MAX_DETAIL_CHARS = 300
# The stale instances a retry re-sends to. An instance id is at most 19 characters, about
# 22 bytes with DynamoDB's list overhead: 1,000 of them are some 22 KB, a twentieth of an
# item's 400 KB, and a fleet that misses more than 1,000 instances at once needs a new clear,
# not a retry. staleCount says how many there were; a retry re-sends the first 1,000.
MAX_STALE_INSTANCES = 1000
# Items leave the table (TTL) this long after the request.
RETENTION = dt.timedelta(days=30)

ORIGINS = ("api", "console", "warm-pool", "retry")
RETRY_ORIGIN = "retry"
# What a command sent before requests had an action did: the SSM document's default.
DEFAULT_ACTION = "clear-apcu"
SENT = "sent"
JUDGED = "judged"
VIA_SNS = "sns"
VIA_WATCHDOG = "watchdog"

Item = dict[str, "AttributeValueTypeDef"]


def iso(moment: dt.datetime) -> str:
    """ "2026-11-29T05:22:03Z": UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class RecordedProblem:
    instance_id: str
    status: str
    detail: str
    # Why an OPcache reset did not take (disabled, restricted, not_restarted, unconfirmed).
    reason: str = ""


@dataclass(frozen=True)
class ApcuCount:
    """What the instances that cleared APCu said: how many, and the entries they removed."""

    instances: int
    entries: int

    def to_attribute(self) -> AttributeValueTypeDef:
        return {"M": {"instances": {"N": str(self.instances)}, "entries": {"N": str(self.entries)}}}

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> ApcuCount:
        fields = value["M"]
        return cls(instances=_n(fields, "instances"), entries=_n(fields, "entries"))

    def to_json(self) -> dict[str, Any]:
        return {"instances": self.instances, "entries": self.entries}


@dataclass(frozen=True)
class OpcacheCount:
    """What the instances that reset OPcache said. `preload` and `file_cache` name the
    instances where old code may still run; validate_timestamps is only counted."""

    instances: int
    scripts: int
    preload: tuple[str, ...] = ()
    file_cache: tuple[str, ...] = ()
    validate_timestamps: int = 0

    def bounded(self) -> OpcacheCount:
        return OpcacheCount(
            self.instances,
            self.scripts,
            self.preload[:MAX_LISTED_INSTANCES],
            self.file_cache[:MAX_LISTED_INSTANCES],
            self.validate_timestamps,
        )

    def to_attribute(self) -> AttributeValueTypeDef:
        bounded = self.bounded()
        return {
            "M": {
                "instances": {"N": str(bounded.instances)},
                "scripts": {"N": str(bounded.scripts)},
                "preload": {"L": [{"S": i} for i in bounded.preload]},
                "fileCache": {"L": [{"S": i} for i in bounded.file_cache]},
                "validateTimestamps": {"N": str(bounded.validate_timestamps)},
            }
        }

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> OpcacheCount:
        fields = value["M"]
        return cls(
            instances=_n(fields, "instances"),
            scripts=_n(fields, "scripts"),
            preload=tuple(v["S"] for v in fields.get("preload", {}).get("L", [])),
            file_cache=tuple(v["S"] for v in fields.get("fileCache", {}).get("L", [])),
            validate_timestamps=_n(fields, "validateTimestamps"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "instances": self.instances,
            "scripts": self.scripts,
            "preload": list(self.preload),
            "fileCache": list(self.file_cache),
            "validateTimestamps": self.validate_timestamps,
        }


@dataclass(frozen=True)
class RecordedVerdict:
    kind: str
    alert: bool
    expected: int | None
    targeted: int
    succeeded: int
    missing_instances: tuple[str, ...]
    problems: tuple[RecordedProblem, ...]
    posted_at: str
    via: str
    # Per cache the action touched; None for a cache it did not touch.
    apcu: ApcuCount | None = None
    opcache: OpcacheCount | None = None
    # InService instances the verdict leaves stale (missed, or not Success), sorted; the item
    # keeps the first MAX_STALE_INSTANCES, stale_count counts them all.
    stale_instances: tuple[str, ...] = ()
    stale_count: int = 0

    def bounded(self) -> RecordedVerdict:
        return RecordedVerdict(
            kind=self.kind,
            alert=self.alert,
            expected=self.expected,
            targeted=self.targeted,
            succeeded=self.succeeded,
            missing_instances=self.missing_instances[:MAX_LISTED_INSTANCES],
            problems=tuple(
                RecordedProblem(p.instance_id, p.status, p.detail[:MAX_DETAIL_CHARS], p.reason)
                for p in self.problems[:MAX_LISTED_PROBLEMS]
            ),
            posted_at=self.posted_at,
            via=self.via,
            apcu=self.apcu,
            opcache=self.opcache.bounded() if self.opcache else None,
            stale_instances=self.stale_instances[:MAX_STALE_INSTANCES],
            stale_count=max(self.stale_count, len(self.stale_instances)),
        )

    def to_attribute(self) -> AttributeValueTypeDef:
        bounded = self.bounded()
        fields: dict[str, AttributeValueTypeDef] = {
            "kind": {"S": bounded.kind},
            "alert": {"BOOL": bounded.alert},
            "targeted": {"N": str(bounded.targeted)},
            "succeeded": {"N": str(bounded.succeeded)},
            "missingInstances": {"L": [{"S": i} for i in bounded.missing_instances]},
            "problems": {
                "L": [
                    {
                        "M": {
                            "instanceId": {"S": p.instance_id},
                            "status": {"S": p.status},
                            "detail": {"S": p.detail},
                            **({"reason": {"S": p.reason}} if p.reason else {}),
                        }
                    }
                    for p in bounded.problems
                ]
            },
            "postedAt": {"S": bounded.posted_at},
            "via": {"S": bounded.via},
            "staleInstances": {"L": [{"S": i} for i in bounded.stale_instances]},
            "staleCount": {"N": str(bounded.stale_count)},
        }
        if bounded.expected is not None:
            fields["expected"] = {"N": str(bounded.expected)}
        if bounded.apcu is not None:
            fields["apcu"] = bounded.apcu.to_attribute()
        if bounded.opcache is not None:
            fields["opcache"] = bounded.opcache.to_attribute()
        return {"M": fields}

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> RecordedVerdict:
        fields = value["M"]
        return cls(
            kind=_s(fields, "kind"),
            alert=bool(fields.get("alert", {}).get("BOOL", True)),
            expected=int(fields["expected"]["N"]) if "expected" in fields else None,
            targeted=_n(fields, "targeted"),
            succeeded=_n(fields, "succeeded"),
            missing_instances=tuple(
                v["S"] for v in fields.get("missingInstances", {}).get("L", [])
            ),
            problems=tuple(
                RecordedProblem(
                    _s(p["M"], "instanceId"),
                    _s(p["M"], "status"),
                    _s(p["M"], "detail"),
                    _s(p["M"], "reason"),
                )
                for p in fields.get("problems", {}).get("L", [])
            ),
            posted_at=_s(fields, "postedAt"),
            via=_s(fields, "via"),
            apcu=ApcuCount.from_attribute(fields["apcu"]) if "apcu" in fields else None,
            opcache=OpcacheCount.from_attribute(fields["opcache"]) if "opcache" in fields else None,
            stale_instances=tuple(v["S"] for v in fields.get("staleInstances", {}).get("L", [])),
            stale_count=_n(fields, "staleCount"),
        )

    def to_json(self) -> dict[str, Any]:
        """The verdict as the status route answers it: the stale instances as a count and the
        first MAX_LISTED_INSTANCES, so that the answer stays small for any fleet."""
        return {
            "kind": self.kind,
            "alert": self.alert,
            "expected": self.expected,
            "targeted": self.targeted,
            "succeeded": self.succeeded,
            "missingInstances": list(self.missing_instances),
            "problems": [
                {
                    "instanceId": p.instance_id,
                    "status": p.status,
                    "detail": p.detail,
                    **({"reason": p.reason} if p.reason else {}),
                }
                for p in self.problems
            ],
            "postedAt": self.posted_at,
            "via": self.via,
            "stale": {
                "count": self.stale_count,
                "instances": list(self.stale_instances[:MAX_LISTED_INSTANCES]),
            },
            **({"apcu": self.apcu.to_json()} if self.apcu else {}),
            **({"opcache": self.opcache.to_json()} if self.opcache else {}),
        }


@dataclass(frozen=True)
class LifecycleHold:
    """A launch lifecycle action that keeps an instance in Pending:Wait until its clear's
    verdict: the notifier completes it (CompleteLifecycleAction) once the verdict is reached."""

    hook_name: str
    token: str
    instance_id: str

    def to_attribute(self) -> AttributeValueTypeDef:
        return {
            "M": {
                "hookName": {"S": self.hook_name},
                "token": {"S": self.token},
                "instanceId": {"S": self.instance_id},
            }
        }

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> LifecycleHold:
        fields = value["M"]
        return cls(_s(fields, "hookName"), _s(fields, "token"), _s(fields, "instanceId"))


@dataclass(frozen=True)
class SlackMessage:
    """The Slack message a clear lives in (app mode): its channel and `ts`, which is Slack's
    id of a message within its channel (chat.postMessage answers it; chat.update takes it)."""

    channel: str
    ts: str

    def to_attribute(self) -> AttributeValueTypeDef:
        return {"M": {"channel": {"S": self.channel}, "ts": {"S": self.ts}}}

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> SlackMessage:
        fields = value["M"]
        return cls(_s(fields, "channel"), _s(fields, "ts"))


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    group: str
    prefix: str
    requester: str
    comment: str
    origin: str
    requested_at: str
    expires_at: str
    state: str = SENT
    verdict: RecordedVerdict | None = None
    action: str = DEFAULT_ACTION
    lifecycle: LifecycleHold | None = None
    # The key of the claim item the clear holds (apcu_clear.claim); "" when it holds none.
    clear_claim: str = ""
    # On a retry command: the clear's first command. On a first command: its retries.
    retry_of: str = ""
    retries: tuple[str, ...] = ()
    # App mode: the message the clear lives in, on its first command.
    slack_message: SlackMessage | None = None

    @property
    def ttl(self) -> int:
        return int((parse_iso(self.requested_at) + RETENTION).timestamp())

    def to_item(self) -> Item:
        item: Item = {
            "commandId": {"S": self.command_id},
            "group": {"S": self.group},
            "prefix": {"S": self.prefix},
            "action": {"S": self.action},
            "requester": {"S": self.requester},
            "comment": {"S": self.comment},
            "origin": {"S": self.origin},
            "requestedAt": {"S": self.requested_at},
            "expiresAt": {"S": self.expires_at},
            "state": {"S": self.state},
            "ttl": {"N": str(self.ttl)},
        }
        if self.verdict is not None:
            item["verdict"] = self.verdict.to_attribute()
        if self.lifecycle is not None:
            item["lifecycle"] = self.lifecycle.to_attribute()
        if self.clear_claim:
            item["clearClaim"] = {"S": self.clear_claim}
        if self.retry_of:
            item["retryOf"] = {"S": self.retry_of}
        if self.slack_message is not None:
            item["slackMessage"] = self.slack_message.to_attribute()
        # `retries` is appended to by store.add_retries only, never written whole.
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CommandRecord | None:
        """The record, or None for an item the dispatcher did not write."""
        if "requestedAt" not in item:
            return None
        verdict = item.get("verdict")
        return cls(
            command_id=_s(item, "commandId"),
            group=_s(item, "group"),
            prefix=_s(item, "prefix"),
            requester=_s(item, "requester"),
            comment=_s(item, "comment"),
            origin=_s(item, "origin"),
            requested_at=_s(item, "requestedAt"),
            expires_at=_s(item, "expiresAt"),
            state=_s(item, "state") or SENT,
            verdict=RecordedVerdict.from_attribute(verdict) if verdict else None,
            action=_s(item, "action") or DEFAULT_ACTION,
            lifecycle=LifecycleHold.from_attribute(item["lifecycle"])
            if "lifecycle" in item
            else None,
            clear_claim=_s(item, "clearClaim"),
            retry_of=_s(item, "retryOf"),
            retries=tuple(v["S"] for v in item.get("retries", {}).get("L", [])),
            slack_message=SlackMessage.from_attribute(item["slackMessage"])
            if "slackMessage" in item
            else None,
        )


def _s(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name, {}).get("S", "")
    return value if isinstance(value, str) else ""


def _n(fields: Mapping[str, Any], name: str) -> int:
    return int(fields.get(name, {}).get("N", "0"))
