"""`apcu-flush retry`, the installed program, against the local API front end (SigV4 checked)
with a stand-in put before the dispatcher that answers as the dispatcher does: a retry is a clear of its own,
and POST /flush/{commandId}/retry answers 202 with that clear's one id (`commandId`), the clear
it repairs (`retryOf`) and the instances `retried` and `skipped`. `--wait` then reads that id's
status until its verdict. (The dispatcher's own answers: tests/dispatcher/test_routes.py and
test_retry.py.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from harness.stack import GROUP

if TYPE_CHECKING:
    from tests.cli.pipeline import Local

CLEAR = "5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab"
RETRY = "0b6f3e2a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
STALE = "i-0123456789abcdef0"
GONE = "i-0fedcba9876543210"
CONSOLE = f"https://us-east-1.console.aws.amazon.com/systems-manager/run-command/{CLEAR}"


def verdict(kind: str, *, alert: bool, stale: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "alert": alert,
        "expected": 1,
        "targeted": 1,
        "succeeded": 0 if stale else 1,
        "missingInstances": [],
        "problems": [],
        "stale": {"count": len(stale), "instances": stale},
        "apcu": {"instances": 0 if stale else 1, "entries": 0 if stale else 12},
        "postedAt": "2026-12-03T00:31:12Z",
        "via": "sns",
    }


@dataclass
class RetryApi:
    """POST /flush/{CLEAR}/retry and GET /flush/{id}, answered as the dispatcher answers them:
    the retry accepted (or `refused`), its status `running` for `running_reads` reads, then
    `ended` (a judged verdict, or a failure)."""

    ended: dict[str, Any] = field(default_factory=dict)
    running_reads: int = 1
    refused: dict[str, Any] | None = None
    retry_id: str | None = RETRY
    reads: list[str] = field(default_factory=list)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        route, command_id = event["routeKey"], event["pathParameters"]["commandId"]
        if route == "POST /flush/{commandId}/retry":
            assert command_id == CLEAR
            if self.refused is not None:
                return _answer(self.refused["error"]["status"], self.refused)
            return _answer(202, self.accepted())
        assert route == "GET /flush/{commandId}"
        self.reads.append(command_id)
        status = {
            "commandId": command_id,
            "group": GROUP,
            "action": "clear-apcu",
            "prefix": None,
            "requestedAt": "2026-12-03T00:30:00Z",
            "expiresAt": "",
            "consoleUrl": CONSOLE,
            "retryOf": CLEAR,
        }
        if len(self.reads) <= self.running_reads:
            return _answer(200, {**status, "state": "running"})
        return _answer(200, {**status, **self.ended})

    def accepted(self) -> dict[str, Any]:
        body = {
            "retryOf": CLEAR,
            "group": GROUP,
            "action": "clear-apcu",
            "prefix": None,
            "retried": [STALE],
            "skipped": [GONE],
            "warnings": [],
            "consoleUrl": CONSOLE,
        }
        return body if self.retry_id is None else {**body, "commandId": self.retry_id}


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


JUDGED_OK = {"state": "judged", "verdict": verdict("ok", alert=False, stale=[])}
JUDGED_ALERT = {"state": "judged", "verdict": verdict("failed", alert=True, stale=[STALE])}


def serve(local: Local, api: RetryApi) -> RetryApi:
    local.front.stand_in = api
    return api


def test_retry_names_the_one_clear_it_started_and_exits_0(local: Local) -> None:
    api = serve(local, RetryApi(JUDGED_OK))

    completed = local.run("retry", CLEAR, "--json")

    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert (answer["commandId"], answer["retryOf"]) == (RETRY, CLEAR)
    assert (answer["retried"], answer["skipped"]) == ([STALE], [GONE])
    assert completed.stderr == ""
    assert api.reads == [], "without --wait, nothing is read"


def test_retry_says_what_it_sent_and_how_to_follow_it(local: Local) -> None:
    serve(local, RetryApi(JUDGED_OK))

    completed = local.run("retry", CLEAR)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"sent: retry {RETRY} of {CLEAR} clears APCu on 1 instance of group {GROUP}",
        f"  clear {RETRY}: apcu-flush status {RETRY} --wait",
        f"  retried: {STALE}",
        f"  skipped, no longer InService: {GONE}",
    ]


def test_retry_wait_reads_the_retrys_own_id_and_exits_0_on_its_ok_verdict(local: Local) -> None:
    api = serve(local, RetryApi(JUDGED_OK, running_reads=2))

    completed = local.run("retry", CLEAR, "--wait", "--timeout", "60", "--pause-scale", "0.01")

    assert completed.returncode == 0, completed.stderr
    assert api.reads == [RETRY] * 3, "the retry's clear, until its verdict"
    assert completed.stdout.splitlines()[0].startswith("ok: ")
    assert f"sent: retry {RETRY} of {CLEAR}" in completed.stderr


@pytest.mark.parametrize(
    ("ended", "code", "said"),
    [
        (JUDGED_ALERT, 1, "ALERT failed"),
        (
            {"state": "failed", "failure": "SlackRejected: no_service"},
            4,
            f"apcu-flush: clear {RETRY} failed before its verdict (SlackRejected: no_service)",
        ),
    ],
)
def test_retry_wait_exits_with_what_became_of_the_retry(
    local: Local, ended: dict[str, Any], code: int, said: str
) -> None:
    serve(local, RetryApi(ended))

    completed = local.run("retry", CLEAR, "--wait", "--timeout", "60", "--pause-scale", "0.01")

    assert completed.returncode == code, (completed.stdout, completed.stderr)
    assert said in completed.stdout + completed.stderr


def test_retry_wait_gives_up_with_3_while_the_retry_runs(local: Local) -> None:
    serve(local, RetryApi(JUDGED_OK, running_reads=10_000))

    completed = local.run("retry", CLEAR, "--wait", "--timeout", "1", "--pause-scale", "0.01")

    assert completed.returncode == 3, completed.stderr
    assert completed.stderr.splitlines()[-1] == (
        f"apcu-flush: no verdict after 1s; command {RETRY} may still be running"
    )


@pytest.mark.parametrize(
    ("status", "rule", "message"),
    [
        (409, "nothing-to-retry", f"clear {CLEAR} ended ok and left no instance stale"),
        (409, "clear-in-progress", f"clear {CLEAR} has no verdict yet"),
        (404, "unknown-command", f"no clear {CLEAR} was sent by this stack"),
    ],
)
def test_a_refused_retry_exits_2_and_says_why(
    local: Local, status: int, rule: str, message: str
) -> None:
    refused = {"error": {"status": status, "field": "commandId", "rule": rule, "message": message}}
    api = serve(local, RetryApi(refused=refused))

    completed = local.run("retry", CLEAR, "--wait")

    assert completed.returncode == 2
    assert f"refused ({status}, commandId)" in completed.stderr
    assert message in completed.stderr
    assert api.reads == []


def test_a_retry_accepted_without_a_clear_id_is_a_server_fault_4(local: Local) -> None:
    serve(local, RetryApi(JUDGED_OK, retry_id=None))

    completed = local.run("retry", CLEAR, "--wait")

    assert completed.returncode == 4
    assert "the API accepted the retry but named no clear" in completed.stderr


def test_status_of_a_failed_clear_exits_4_without_waiting(local: Local) -> None:
    serve(local, RetryApi({"state": "failed", "failure": "the group's claim was lost"}, 0))

    completed = local.run("status", RETRY)

    assert completed.returncode == 4
    assert "failed before its verdict (the group's claim was lost)" in completed.stderr
