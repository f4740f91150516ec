"""AWS throttling and faults on every call the dispatcher makes, through botocore's real retry loop.

Decision: throttling that outlasts botocore's standard retries (3 attempts) is answered 503 with
rule aws-throttled, since the throttled call was rejected and nothing was sent; the caller may
try again. SendCommand is retried only when AWS cannot have run the first attempt (throttled,
or never connected): after a 5xx or a read timeout the command may be running, and the error
is raised instead of sending a second clear.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown
from tests.dispatcher.conftest import commands_in_moto
from tests.dispatcher.faults import Fault, autoscaling_error, inject, raising, ssm_error

CLEAR = {"group": "web-prod", "action": "clear-apcu"}
STANDARD_ATTEMPTS = 3


def throttled_answer(settings: Config, clients: Clients) -> dict[str, Any]:
    handled = handler.handle(CLEAR, settings, clients)
    assert handled.outcome == "Throttled"
    assert handled.response["statusCode"] == 503
    error: dict[str, Any] = handled.response["body"]["error"]
    assert error["rule"] == "aws-throttled"
    assert "nothing was sent" in error["message"]
    return error


# Every call the dispatcher makes, with the client that makes it and the way it is throttled.
THROTTLED_CALLS = [
    "ListCommands",
    "DescribeAutoScalingGroups",
    "DescribeInstanceInformation",
    "SendCommand",
]


def throttle(clients: Clients, operation: str, times: int) -> Fault:
    """Answer the first `times` attempts of `operation` with AWS's throttling error."""
    if operation == "DescribeAutoScalingGroups":
        return inject(
            clients.autoscaling,
            "auto-scaling",
            operation,
            Fault(autoscaling_error("Throttling"), times),
        )
    client = clients.ssm_send if operation == "SendCommand" else clients.ssm
    return inject(client, "ssm", operation, Fault(ssm_error("ThrottlingException"), times))


@pytest.mark.parametrize("operation", THROTTLED_CALLS)
def test_throttled_throughout_is_503_and_nothing_runs(
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    no_backoff: list[float],
    operation: str,
) -> None:
    fault = throttle(clients, operation, 99)

    error = throttled_answer(settings, clients)

    assert operation in error["message"]
    assert fault.attempts == STANDARD_ATTEMPTS
    assert len(no_backoff) == STANDARD_ATTEMPTS - 1  # backed off between attempts
    assert commands_in_moto(clients) == []


@pytest.mark.parametrize("operation", THROTTLED_CALLS)
def test_brief_throttling_is_absorbed_and_sends_once(
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    no_backoff: list[float],
    operation: str,
) -> None:
    # Given two throttled attempts before AWS answers
    fault = throttle(clients, operation, 2)

    handled = handler.handle(CLEAR, settings, clients)

    # Then the third attempt succeeds and exactly one command exists
    assert handled.response["statusCode"] == 202
    assert fault.attempts == 3
    [command] = commands_in_moto(clients)
    assert command["CommandId"] == handled.response["body"]["commandId"]


def test_send_after_a_server_error_is_not_repeated(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    # A 500 may come after SSM accepted the command; SendCommand has no idempotency token
    fault = inject(
        clients.ssm_send,
        "ssm",
        "SendCommand",
        Fault(ssm_error("InternalServerError", 500, "oops"), 1),
    )

    with pytest.raises(SendOutcomeUnknown, match="may have accepted it") as caught:
        handler.handle(CLEAR, settings, clients)

    assert "console" in str(caught.value)  # the Comment to look for in the history
    assert fault.attempts == 1
    assert no_backoff == []


def test_send_after_a_read_timeout_is_not_repeated(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(
        clients.ssm_send,
        "ssm",
        "SendCommand",
        Fault(raising(lambda request: ReadTimeoutError(endpoint_url=request.url)), 1),
    )

    with pytest.raises(SendOutcomeUnknown):
        handler.handle(CLEAR, settings, clients)

    assert fault.attempts == 1


def test_send_that_never_connected_is_retried_once_sent(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(
        clients.ssm_send,
        "ssm",
        "SendCommand",
        Fault(raising(lambda request: EndpointConnectionError(endpoint_url=request.url)), 1),
    )

    handled = handler.handle(CLEAR, settings, clients)

    assert handled.response["statusCode"] == 202
    assert fault.attempts == 2
    assert len(commands_in_moto(clients)) == 1


def test_access_denied_is_raised_not_hidden(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    inject(
        clients.autoscaling,
        "auto-scaling",
        "DescribeAutoScalingGroups",
        Fault(autoscaling_error("AccessDenied", 403, "not authorized"), 99),
    )

    with pytest.raises(ClientError, match="AccessDenied"):
        handler.handle(CLEAR, settings, clients)
    assert commands_in_moto(clients) == []


def test_the_send_client_itself_never_repeats_a_request(clients: Clients) -> None:
    # Whatever botocore the runtime brings, SendCommand's client makes one attempt per call:
    # the only retries are the explicit ones for requests AWS rejected unrun.
    assert clients.ssm_send.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert clients.ssm.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_a_healthy_send_is_one_request(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(clients.ssm_send, "ssm", "SendCommand", Fault(ssm_error("unused"), 0))

    handled = handler.handle(CLEAR, settings, clients)

    assert handled.response["statusCode"] == 202
    assert fault.attempts == 1
    assert no_backoff == []
