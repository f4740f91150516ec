"""One clear per group at a time: while a clear of the group is running, the next request is
answered 409 naming it, and nothing is sent. Through lambda_handler against moto, whose
ListCommands filters the emulator honours."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apcu_dispatcher import guard, handler
from apcu_dispatcher.clients import Clients
from harness import aws_emulator
from tests.dispatcher.conftest import DOCUMENT, commands_in_moto, stored_event
from tests.dispatcher.test_handler import Context

CLEAR = {"group": "web-prod", "action": "clear-apcu"}
# DELIVERY_TIMEOUT_SECONDS (default 120) plus EXECUTION_TIMEOUT_SECONDS (60, conftest).
LIFETIME = dt.timedelta(seconds=180)

Invoke = Callable[[object], dict[str, Any]]


@pytest.fixture
def invoke(aws: None) -> Iterator[Invoke]:
    """lambda_handler, with its per-container clients built inside this moto."""
    handler.clients.cache_clear()
    yield lambda event: handler.lambda_handler(event, Context())
    handler.clients.cache_clear()


def running_clear(
    clients: Clients,
    group: str = "web-prod",
    *,
    status: str = "InProgress",
    ago: dt.timedelta = dt.timedelta(seconds=30),
    document: str = DOCUMENT,
) -> dict[str, Any]:
    """A clear sent earlier to the group's tag and not finished yet; its command as listed."""
    command_id = clients.ssm.send_command(
        DocumentName=document,
        Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [group]}],
        Parameters={"prefix": [""]},
    )["Command"]["CommandId"]
    requested = dt.datetime.now(dt.UTC).replace(microsecond=0) - ago
    aws_emulator.set_command_running(command_id, status=status, requested_at=requested)
    [command] = clients.ssm.list_commands(CommandId=command_id)["Commands"]
    return dict(command)


def console_link(command_id: str) -> str:
    return (
        "https://us-east-1.console.aws.amazon.com/systems-manager/run-command/"
        f"{command_id}?region=us-east-1"
    )


def assert_refused_naming(response: dict[str, Any], running: dict[str, Any]) -> None:
    body = response["body"]
    error = (json.loads(body) if isinstance(body, str) else body)["error"]
    assert response["statusCode"] == 409
    requested_at = running["RequestedDateTime"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error == {
        "status": 409,
        "rule": "clear-in-progress",
        "message": f"a clear of group web-prod is still running (command {running['CommandId']}, "
        f"requested {requested_at}); wait for its verdict, nothing was sent",
        "runningCommand": {
            "commandId": running["CommandId"],
            "requestedAt": requested_at,
            "consoleUrl": console_link(running["CommandId"]),
        },
    }


@pytest.mark.parametrize("status", ["Pending", "InProgress", "Cancelling"])
def test_a_running_clear_of_the_group_refuses_the_next_and_sends_nothing(
    invoke: Invoke, clients: Clients, web_prod: list[str], status: str
) -> None:
    # Given a clear of web-prod still running
    running = running_clear(clients, status=status)
    before = commands_in_moto(clients)

    # When the console asks for another one
    response = invoke(stored_event("console-clear-all.json"))

    # Then it is refused, naming the running command, and moto holds no new command
    assert_refused_naming(response, running)
    assert commands_in_moto(clients) == before


def test_the_api_gets_the_same_409(invoke: Invoke, clients: Clients, web_prod: list[str]) -> None:
    running = running_clear(clients)

    response = invoke(stored_event("api-clear.json"))

    assert isinstance(response["body"], str)
    assert_refused_naming(response, running)
    assert len(commands_in_moto(clients)) == 1


def test_a_dry_run_reports_the_running_clear_as_the_real_request_would(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    running = running_clear(clients)

    response = invoke(stored_event("console-dry-run.json"))

    assert_refused_naming(response, running)


@pytest.mark.parametrize("status", ["Success", "Failed", "TimedOut", "Cancelled"])
def test_a_finished_clear_does_not_block(
    invoke: Invoke, clients: Clients, web_prod: list[str], status: str
) -> None:
    finished = running_clear(clients)
    aws_emulator.settle_command(
        finished["CommandId"], {i: aws_emulator.ok() for i in web_prod}, status=status
    )

    response = invoke(CLEAR)

    assert response["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 2


def test_another_groups_running_clear_does_not_block(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    aws_emulator.create_group("web-staging", 2)
    running_clear(clients, "web-staging")

    response = invoke(CLEAR)

    assert response["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 2


def test_another_documents_running_command_does_not_block(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    running_clear(clients, document="AWS-RunPatchBaseline")

    assert invoke(CLEAR)["statusCode"] == 202


def test_a_single_instance_clear_does_not_hold_the_group(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # A clear of one instance that left the warm pool is not a clear of the fleet
    command_id = clients.ssm.send_command(DocumentName=DOCUMENT, InstanceIds=web_prod[:1])[
        "Command"
    ]["CommandId"]
    aws_emulator.set_command_running(command_id)

    assert invoke(CLEAR)["statusCode"] == 202


def test_only_commands_within_one_command_lifetime_are_looked_at(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given a command still listed as running although SSM must have ended it by now
    running_clear(clients, ago=LIFETIME + dt.timedelta(seconds=10))

    # Then it does not hold the group (the watchdog reports it as stuck)
    assert invoke(CLEAR)["statusCode"] == 202


def test_a_clear_just_inside_its_lifetime_still_blocks(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    running = running_clear(clients, ago=LIFETIME - dt.timedelta(seconds=10))

    assert_refused_naming(invoke(CLEAR), running)


def test_the_running_clear_is_found_on_a_later_page(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given more running commands of the document than one ListCommands page holds
    aws_emulator.create_group("web-staging", 1)
    for _ in range(guard.PAGE_SIZE + 2):
        running_clear(clients, "web-staging")
    running = running_clear(clients)

    assert_refused_naming(invoke(CLEAR), running)


def test_finished_clears_on_the_first_page_do_not_hide_a_running_one_after_them(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given a page's worth of finished clears of web-prod, then one that still runs: the
    # lookup reads each command's status itself rather than trusting a stage filter
    for _ in range(guard.PAGE_SIZE + 1):
        finished = running_clear(clients)
        aws_emulator.settle_command(
            finished["CommandId"], {i: aws_emulator.ok() for i in web_prod}, status="Success"
        )
    running = running_clear(clients, status="Pending")

    assert_refused_naming(invoke(CLEAR), running)


def test_too_many_running_commands_to_check_sends_nothing(
    invoke: Invoke, clients: Clients, web_prod: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard, "MAX_PAGES", 1)
    monkeypatch.setattr(guard, "PAGE_SIZE", 2)
    aws_emulator.create_group("web-staging", 1)
    for _ in range(3):
        running_clear(clients, "web-staging")

    response = invoke(CLEAR)

    assert response["statusCode"] == 503
    assert response["body"]["error"]["rule"] == "too-many-running"
    assert len(commands_in_moto(clients)) == 3


def test_the_lookup_asks_for_the_documents_commands_of_the_window_only(
    clients: Clients, web_prod: list[str], settings: Any
) -> None:
    # The filters the emulator is proven to honour (test_emulator_list_commands.py)
    asked: list[dict[str, Any]] = []
    clients.ssm.meta.events.register(
        "before-parameter-build.ssm.ListCommands", lambda params, **_: asked.append(params)
    )
    now = dt.datetime(2026, 11, 29, 5, 22, 3, tzinfo=dt.UTC)

    list(guard.running_commands(settings, clients.ssm, now))

    assert asked == [
        {
            "Filters": [
                {"key": "DocumentName", "value": DOCUMENT},
                {"key": "InvokedAfter", "value": "2026-11-29T05:19:03Z"},
            ],
            "MaxResults": 50,
        }
    ]
