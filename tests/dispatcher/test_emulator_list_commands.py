"""The emulator's ListCommands honours the filters the dispatcher relies on, and refuses
requests SSM would refuse (moto alone ignores Filters and returns everything)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from apcu_dispatcher.clients import Clients
from harness import aws_emulator
from tests.dispatcher.conftest import DOCUMENT

GROUP_TARGET = [{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-prod"]}]


def send(clients: Clients, document: str = DOCUMENT) -> str:
    command = clients.ssm.send_command(DocumentName=document, Targets=GROUP_TARGET)["Command"]
    return command["CommandId"]


def listed(clients: Clients, **filters: str) -> list[str]:
    pages = clients.ssm.get_paginator("list_commands").paginate(
        Filters=[{"key": key, "value": value} for key, value in filters.items()]
    )
    return [command["CommandId"] for page in pages for command in page["Commands"]]


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_document_name_filter(clients: Clients, web_prod: list[str]) -> None:
    ours, other = send(clients), send(clients, "AWS-RunShellScript")
    assert listed(clients, DocumentName=DOCUMENT) == [ours]
    assert listed(clients, DocumentName="AWS-RunShellScript") == [other]
    assert listed(clients, DocumentName="no-such-document") == []


def test_invoked_after_and_before_filters(clients: Clients, web_prod: list[str]) -> None:
    old, new = send(clients), send(clients)
    aws_emulator.set_command_running(old, requested_at=NOW - dt.timedelta(hours=2))
    aws_emulator.set_command_running(new, requested_at=NOW - dt.timedelta(minutes=1))
    hour_ago = stamp(NOW - dt.timedelta(hours=1))

    assert listed(clients, InvokedAfter=hour_ago) == [new]
    assert listed(clients, InvokedBefore=hour_ago) == [old]
    # the documented form with fractional seconds is read too
    assert listed(clients, InvokedAfter=hour_ago.replace("Z", ".000Z")) == [new]


def test_execution_stage_filter(clients: Clients, web_prod: list[str]) -> None:
    done, pending, running, cancelling = (send(clients) for _ in range(4))
    aws_emulator.set_command_running(pending, status="Pending")
    aws_emulator.set_command_running(running)
    aws_emulator.set_command_running(cancelling, status="Cancelling")

    assert sorted(listed(clients, ExecutionStage="Executing")) == sorted(
        [pending, running, cancelling]
    )
    assert listed(clients, ExecutionStage="Complete") == [done]


def test_status_filter(clients: Clients, web_prod: list[str]) -> None:
    done, running, no_targets = (send(clients) for _ in range(3))
    aws_emulator.set_command_running(running)
    aws_emulator.settle_command(no_targets, {}, status="Success")

    assert listed(clients, Status="InProgress") == [running]
    assert listed(clients, Status="Success") == [done, no_targets]
    assert listed(clients, Status="NoInstancesInTag") == [no_targets]


def test_filters_combine(clients: Clients, web_prod: list[str]) -> None:
    ours_running, ours_done = send(clients), send(clients)
    other_running = send(clients, "AWS-RunShellScript")
    aws_emulator.set_command_running(ours_running)
    aws_emulator.set_command_running(other_running)

    assert listed(
        clients,
        DocumentName=DOCUMENT,
        ExecutionStage="Executing",
        InvokedAfter=stamp(NOW - dt.timedelta(minutes=5)),
    ) == [ours_running]
    assert ours_done not in listed(clients, ExecutionStage="Executing")


def test_pages_of_at_most_max_results(clients: Clients, web_prod: list[str]) -> None:
    sent = [send(clients) for _ in range(7)]
    first = clients.ssm.list_commands(MaxResults=5)
    second = clients.ssm.list_commands(MaxResults=5, NextToken=first["NextToken"])
    assert len(first["Commands"]) == 5
    assert "NextToken" not in second
    assert [c["CommandId"] for c in first["Commands"] + second["Commands"]] == sent


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("filters", "code"),
    [
        ([{"key": "Colour", "value": "blue"}], "InvalidFilterKey"),
        ([{"key": "Status", "value": "Cancelling"}], "InvalidFilterValue"),
        ([{"key": "Status", "value": "Running"}], "InvalidFilterValue"),
        ([{"key": "ExecutionStage", "value": "Running"}], "InvalidFilterValue"),
        ([{"key": "InvokedAfter", "value": "yesterday"}], "InvalidFilterValue"),
        ([{"key": "InvokedAfter", "value": "2026-11-29 05:00:00"}], "InvalidFilterValue"),
        ([{"key": "DocumentName", "value": "x" * 129}], "InvalidFilterValue"),
        (
            [{"key": "Status", "value": "Pending"}, {"key": "Status", "value": "InProgress"}],
            "InvalidFilterKey",
        ),
        ([{"key": "DocumentName", "value": DOCUMENT}] * 6, "ValidationException"),
    ],
)
def test_requests_ssm_would_refuse_are_refused(
    clients: Clients, filters: list[Any], code: str
) -> None:
    assert error_code(lambda: clients.ssm.list_commands(Filters=filters)) == code


def test_max_results_above_the_models_bound_is_refused(clients: Clients) -> None:
    # botocore checks only the lower bound itself; the upper one is SSM's (and the emulator's)
    assert error_code(lambda: clients.ssm.list_commands(MaxResults=51)) == "ValidationException"


def test_documented_filter_values_are_the_models() -> None:
    model = botocore.session.get_session().get_service_model("ssm")
    documentation = model.shape_for("CommandFilter").members["value"].documentation
    list_commands_part = documentation.split("ListCommandInvocations")[0]
    statuses = codes(list_commands_part.split("<b>Status</b>")[1])
    assert set(aws_emulator.COMMAND_STATUS_FILTER_VALUES) == statuses
    stages = codes(documentation.split("<b>ExecutionStage</b>")[1])
    assert set(aws_emulator.EXECUTION_STAGES) == stages


def codes(html: str) -> set[str]:
    return set(re.findall(r"<code>(\w+)</code>", html)) - {"ListCommands"}
