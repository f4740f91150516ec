"""One clear per target, atomically: the claim taken before SendCommand (apcu_dispatcher.claims).

Two requests "at the same moment" are two threads whose SendCommand is held (a botocore
before-call hook) until the other request has tried too: with a check-then-send guard both
would reach SendCommand; with the claim only its holder does.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from apcu_clear import claim
from apcu_dispatcher import handler
from apcu_dispatcher.claims import MARGIN
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from harness import aws_emulator
from tests.dispatcher.conftest import (
    COMMANDS_TABLE,
    commands_in_moto,
    end_the_clear,
    stored_event,
)
from tests.dispatcher.faults import Fault, autoscaling_error, inject, ssm_error

GROUP_CLAIM = claim.group_key("web-prod")


class HeldSends:
    """Holds each SendCommand until every other request of the race has reached SendCommand
    too, or has returned: the widest window a check-then-send guard could leave open."""

    def __init__(self, clients: Clients, racers: int) -> None:
        self.racers = racers
        self.arrived = 0
        self.finished = 0
        self.sent: list[dict[str, Any]] = []
        self._turn = threading.Condition()
        clients.ssm_send.meta.events.register("before-call.ssm.SendCommand", self._hold)

    def _hold(self, params: dict[str, Any], **_: Any) -> None:
        with self._turn:
            self.arrived += 1
            self.sent.append(copy.deepcopy(params))
            self._turn.notify_all()
            self._turn.wait_for(lambda: self.arrived + self.finished >= self.racers, timeout=10)

    def done(self) -> None:
        with self._turn:
            self.finished += 1
            self._turn.notify_all()


def race(clients: Clients, *requests: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the requests at once, each in its own thread; their answers, in order."""
    held = HeldSends(clients, len(requests))
    start = threading.Barrier(len(requests))
    answers: list[dict[str, Any]] = [{} for _ in requests]

    def run(index: int, request: Callable[[], dict[str, Any]]) -> None:
        start.wait(timeout=10)
        try:
            answers[index] = request()
        finally:
            held.done()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def answer(event: object, settings: Config, clients: Clients) -> Callable[[], dict[str, Any]]:
    def request() -> dict[str, Any]:
        response = handler.handle(copy.deepcopy(event), settings, clients).response
        return {"statusCode": response["statusCode"], "body": _body(response)}

    return request


def _body(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"]
    return json.loads(body) if isinstance(body, str) else body


def warm_pool_exit(instance_id: str) -> dict[str, Any]:
    event = stored_event("warm-pool-exit.json")
    event["detail"]["EC2InstanceId"] = instance_id
    return event


def assert_one_sent_and_one_refused(clients: Clients, answers: list[dict[str, Any]]) -> None:
    statuses = sorted(a["statusCode"] for a in answers)
    assert statuses == [202, 409]
    assert len(commands_in_moto(clients)) == 1
    [refused] = [a for a in answers if a["statusCode"] == 409]
    error = refused["body"]["error"]
    assert error["rule"] == "clear-in-progress"
    # Its SendCommand was held, so the holder had no command id yet: the answer says so
    assert error["runningCommand"]["commandId"] is None
    assert error["runningCommand"]["requestedAt"]
    assert "still being sent" in error["message"]


# --- two requests at the same moment --------------------------------------------------------


def test_two_api_requests_at_the_same_moment_send_one_clear(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    api = stored_event("api-clear.json")

    answers = race(clients, answer(api, settings, clients), answer(api, settings, clients))

    assert_one_sent_and_one_refused(clients, answers)


def test_an_api_request_and_a_console_event_at_the_same_moment_send_one_clear(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    answers = race(
        clients,
        answer(stored_event("api-clear.json"), settings, clients),
        answer(stored_event("console-clear-all.json"), settings, clients),
    )

    assert_one_sent_and_one_refused(clients, answers)


def test_the_same_warm_pool_event_delivered_twice_at_once_clears_the_instance_once(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    event = warm_pool_exit(web_prod[0])

    answers = race(clients, answer(event, settings, clients), answer(event, settings, clients))

    assert_one_sent_and_one_refused(clients, answers)
    [command] = commands_in_moto(clients)
    assert command["InstanceIds"] == [web_prod[0]]


def test_an_api_clear_and_a_warm_pool_exit_at_once_each_send_once_to_their_own_target(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # A warm-pool exit claims its instance, not the group: the group clear's tag target was
    # resolved without the instance, whose APCu may be older than any clear
    # (test_warm_pool.test_a_running_clear_of_the_whole_group_does_not_stand_in_for_it).
    answers = race(
        clients,
        answer(stored_event("api-clear.json"), settings, clients),
        answer(warm_pool_exit(web_prod[0]), settings, clients),
    )

    assert [a["statusCode"] for a in answers] == [202, 202]
    commands = commands_in_moto(clients)
    assert len(commands) == 2
    assert sorted(bool(c["Targets"]) for c in commands) == [False, True]


# --- the claim while the clear runs ---------------------------------------------------------


def test_a_request_while_the_clear_runs_is_refused_naming_its_command(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # moto ends every command at once, so ListCommands shows nothing running: only the claim
    # knows that the clear's verdict is not in yet
    first = answer(stored_event("api-clear.json"), settings, clients)()
    command_id = first["body"]["commandId"]

    second = answer(stored_event("console-clear-all.json"), settings, clients)()

    assert second["statusCode"] == 409
    running = second["body"]["error"]["runningCommand"]
    assert running["commandId"] == command_id
    assert running["consoleUrl"].endswith(f"/run-command/{command_id}?region=us-east-1")
    assert f"command {command_id}" in second["body"]["error"]["message"]
    assert len(commands_in_moto(clients)) == 1


def test_the_claim_lasts_to_ssms_expiry_of_the_command_plus_the_margin(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    answer(stored_event("api-clear.json"), settings, clients)()

    [command] = commands_in_moto(clients)
    item = clients.dynamodb.get_item(
        TableName=COMMANDS_TABLE, Key={"commandId": {"S": GROUP_CLAIM}}
    )["Item"]
    # SSM's ExpiresAfter, not the lifetime computed from the settings (moto counts only the
    # delivery timeout, so the two differ)
    assert item["holder"] == {"S": command["CommandId"]}
    assert int(item["until"]["N"]) == int((command["ExpiresAfter"] + MARGIN).timestamp())


def test_once_the_verdict_ends_the_claim_the_next_request_is_sent(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = answer(stored_event("api-clear.json"), settings, clients)()
    assert end_the_clear(clients, first["body"]["commandId"])

    second = answer(stored_event("api-clear.json"), settings, clients)()

    assert second["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 2


def test_a_claim_left_by_a_dead_invocation_is_taken_over_once_expired(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given an invocation that claimed the group long ago and died before sending
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    claim.take(
        clients.dynamodb,
        COMMANDS_TABLE,
        GROUP_CLAIM,
        now=long_ago,
        until=long_ago + settings.command_lifetime + MARGIN,
    )

    response = answer(stored_event("api-clear.json"), settings, clients)()

    assert response["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 1


def test_a_claim_not_yet_expired_refuses_even_with_no_command_named(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given an invocation that claimed the group a moment ago and is still sending (or died)
    now = dt.datetime.now(dt.UTC)
    claim.take(clients.dynamodb, COMMANDS_TABLE, GROUP_CLAIM, now=now, until=now + MARGIN)

    response = answer(stored_event("api-clear.json"), settings, clients)()

    assert response["statusCode"] == 409
    assert response["body"]["error"]["runningCommand"]["commandId"] is None
    assert response["body"]["error"]["runningCommand"]["consoleUrl"] is None
    assert commands_in_moto(clients) == []


def test_a_dry_run_takes_no_claim_but_is_refused_while_one_is_held(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    dry = answer(stored_event("console-dry-run.json"), settings, clients)()
    assert dry["statusCode"] == 200
    assert (
        claim.held(clients.dynamodb, COMMANDS_TABLE, GROUP_CLAIM, now=dt.datetime.now(dt.UTC))
        is None
    )

    sent = answer(stored_event("api-clear.json"), settings, clients)()
    dry_again = answer(stored_event("console-dry-run.json"), settings, clients)()

    assert dry_again["statusCode"] == 409
    assert dry_again["body"]["error"]["runningCommand"]["commandId"] == sent["body"]["commandId"]


# --- refused or failed before SendCommand: the group stays free ------------------------------


def _group_is_free(clients: Clients) -> bool:
    now = dt.datetime.now(dt.UTC)
    return claim.held(clients.dynamodb, COMMANDS_TABLE, GROUP_CLAIM, now=now) is None


def test_a_group_that_does_not_exist_leaves_no_claim(settings: Config, clients: Clients) -> None:
    response = answer({"group": "web-staging", "action": "clear-apcu"}, settings, clients)()
    assert response["statusCode"] == 404

    # The group appears; the next request is sent
    aws_emulator.create_group("web-staging", 2)
    again = answer({"group": "web-staging", "action": "clear-apcu"}, settings, clients)()

    assert again["statusCode"] == 202


def test_a_group_without_an_inservice_instance_leaves_no_claim(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    aws_emulator.set_lifecycle("web-prod", web_prod, "Pending")
    assert answer(stored_event("api-clear.json"), settings, clients)()["statusCode"] == 409
    assert _group_is_free(clients)

    aws_emulator.set_lifecycle("web-prod", web_prod, "InService")
    assert answer(stored_event("api-clear.json"), settings, clients)()["statusCode"] == 202


def test_a_throttled_describe_auto_scaling_groups_leaves_the_group_free(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(
        clients.autoscaling,
        "autoscaling",
        "DescribeAutoScalingGroups",
        Fault(autoscaling_error("Throttling"), 99),
    )
    throttled = answer(stored_event("api-clear.json"), settings, clients)()
    assert throttled["statusCode"] == 503
    assert _group_is_free(clients)

    fault.times = 0
    assert answer(stored_event("api-clear.json"), settings, clients)()["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 1


def test_a_throttled_send_leaves_the_group_free(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(
        clients.ssm_send, "ssm", "SendCommand", Fault(ssm_error("ThrottlingException"), 99)
    )
    assert answer(stored_event("api-clear.json"), settings, clients)()["statusCode"] == 503
    assert _group_is_free(clients)

    fault.times = 0
    assert answer(stored_event("api-clear.json"), settings, clients)()["statusCode"] == 202


def test_after_a_send_that_may_have_run_the_claim_is_kept(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    inject(
        clients.ssm_send,
        "ssm",
        "SendCommand",
        Fault(ssm_error("InternalServerError", 500, "oops"), 1),
    )
    with pytest.raises(Exception, match="may have accepted it"):
        answer(stored_event("api-clear.json"), settings, clients)()

    retried = answer(stored_event("api-clear.json"), settings, clients)()

    assert retried["statusCode"] == 409
    assert "still being sent" in retried["body"]["error"]["message"]


# --- warm-pool events ------------------------------------------------------------------------


def test_the_same_warm_pool_event_delivered_twice_sends_once(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    event = warm_pool_exit(web_prod[0])
    first = answer(event, settings, clients)()

    # Redelivered after moto has already ended the first command: ListCommands shows nothing
    # running, the instance's claim still holds
    second = answer(event, settings, clients)()

    assert first["statusCode"] == 202
    assert second["statusCode"] == 409
    assert second["body"]["error"]["runningCommand"]["commandId"] == first["body"]["commandId"]
    assert len(commands_in_moto(clients)) == 1


def test_a_refused_warm_pool_event_gives_the_instance_back(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(clients.ssm, "ssm", "ListCommands", Fault(ssm_error("ThrottlingException"), 99))
    with pytest.raises(Exception, match="throttled ListCommands"):
        answer(warm_pool_exit(web_prod[0]), settings, clients)()

    # Lambda's retry a minute later claims the instance again and sends
    fault.times = 0
    assert answer(warm_pool_exit(web_prod[0]), settings, clients)()["statusCode"] == 202
