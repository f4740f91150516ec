"""The configuration contract (docs/design.md): every variable a function reads is set by the
template, and harness.stack.environment(), which the tests and the local run start the
functions with, gives each function exactly what the template gives it.

Each function's variables are listed here, and the lists are held to the configuration modules'
source: a variable a module starts reading, or stops reading, fails a test until the list, the
template and the harness agree again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apcu_dispatcher.config import Config as DispatcherConfig
from apcu_notifier.config import Config as NotifierConfig
from harness import stack as harness_stack
from tests.stack.deployed import DeployedStack

SRC = Path(__file__).resolve().parents[2] / "src"
# What both functions read (src/clear/apcu_clear/settings.py and slack_app.py); AWS_REGION
# is Lambda's own.
SHARED = {
    "AWS_REGION",
    "COMMANDS_TABLE",
    "ALLOWED_GROUPS",
    "DOCUMENT_NAME",
    "DELIVERY_TIMEOUT_SECONDS",
    "EXECUTION_TIMEOUT_SECONDS",
    "MAX_CONCURRENCY",
    "STOP_ALARM_NAME",
    "SLACK_MODE",
    "SLACK_APP_SECRET_ARN",
    "SLACK_API_URL",
}
READS = {
    "DispatcherFunction": SHARED
    | {
        "NOTIFICATION_TOPIC_ARN",
        "NOTIFICATION_ROLE_ARN",
        "NOTIFIER_ALIAS_ARN",
        "WARM_POOL_HOOK_NAME",
        "SLACK_ALLOWED_USERS",
    },
    "NotifierFunction": SHARED
    | {
        "SLACK_WEBHOOK_SECRET_ARN",
        "MESSAGE_LANGUAGE",
        "MESSAGE_TIME_ZONE",
        "DOCS_URL",
        "ALERT_MENTION",
        "CLEAR_ON_WARM_POOL_EXIT",
        "WARM_POOL_UNCLEARED",
        "RETRY_MISSED",
    },
}
# The modules each function's configuration is read by.
CONFIG_SOURCES = {
    "DispatcherFunction": [
        "clear/apcu_clear/settings.py",
        "clear/apcu_clear/slack_app.py",
        "dispatcher/apcu_dispatcher/config.py",
    ],
    "NotifierFunction": [
        "clear/apcu_clear/settings.py",
        "clear/apcu_clear/slack_app.py",
        "notifier/apcu_notifier/config.py",
    ],
}
# Variables the template sets before a function's configuration reads them (none now): the test
# below fails as soon as the function reads one of them, so that it leaves this list the same day.
NOT_READ_YET: dict[str, set[str]] = {}
# Powertools' own variables, which the template sets for both and Powertools reads.
POWERTOOLS = re.compile(r"POWERTOOLS_\w+|LOG_LEVEL")
# A variable named in a read of the environment: env["X"], env.get("X"...), or a helper's
# (env, "X", ...).
_READ = re.compile(r"""env(?:\[|\.get\(|,\s*)\s*"([A-Z][A-Z0-9_]+)\"""")


def read_by(function: str) -> set[str]:
    names: set[str] = set()
    for path in CONFIG_SOURCES[function]:
        names |= set(_READ.findall((SRC / path).read_text(encoding="utf-8")))
    return names


@pytest.mark.parametrize("function", sorted(READS))
def test_the_template_sets_each_variable_its_function_reads_and_no_other(function: str) -> None:
    variables = DeployedStack().properties(function)["Environment"]["Variables"]
    set_here = {name for name in variables if not POWERTOOLS.fullmatch(name)}
    # Lambda sets AWS_REGION itself; the template sets everything else.
    assert set_here == READS[function] - {"AWS_REGION"}


@pytest.mark.parametrize("function", sorted(READS))
def test_the_harness_gives_each_function_what_the_template_gives_it(function: str) -> None:
    given = set(harness_stack.environment())
    # Every variable of the harness is read by one function or both,
    assert given == READS["DispatcherFunction"] | READS["NotifierFunction"]
    # and what it gives this function is what the template gives it (with Lambda's region).
    variables = DeployedStack().properties(function)["Environment"]["Variables"]
    template = {name for name in variables if not POWERTOOLS.fullmatch(name)} | {"AWS_REGION"}
    assert given & READS[function] == template


@pytest.mark.parametrize("function", sorted(READS))
def test_each_list_is_what_the_configuration_modules_read(function: str) -> None:
    read = read_by(function)
    # Nothing a function reads is missing from its list (the template would not set it, and
    # the function would refuse to start).
    assert read <= READS[function], read - READS[function]
    pending = NOT_READ_YET.get(function, set())
    assert READS[function] - read == pending
    # A pending variable the code now reads leaves NOT_READ_YET.
    assert not pending & read


def test_the_dispatcher_and_the_notifier_read_only_their_own_variables() -> None:
    own = {f: READS[f] - SHARED for f in READS}
    assert not read_by("DispatcherFunction") & own["NotifierFunction"]
    assert not read_by("NotifierFunction") & own["DispatcherFunction"]


# What CloudFormation puts where the transformed template refers to a resource.
DEPLOYED = {
    "{CommandsTable}": harness_stack.TABLE,
    "{FlushDocument}": harness_stack.DOCUMENT,
    "{NotificationTopic}": harness_stack.environment()["NOTIFICATION_TOPIC_ARN"],
    "{NotificationRole.Arn}": harness_stack.environment()["NOTIFICATION_ROLE_ARN"],
    "{NotifierFunctionAliaslive}": harness_stack.environment()["NOTIFIER_ALIAS_ARN"],
    "{SlackWebhookSecret}": harness_stack.environment()["SLACK_WEBHOOK_SECRET_ARN"],
    "{SlackAppSecret}": "arn:aws:secretsmanager:us-east-1:123456789012:secret:SlackAppSecret-AbCdEf",
}


def deployed_environment(stack: DeployedStack, function: str) -> dict[str, str]:
    variables = stack.properties(function)["Environment"]["Variables"]
    return {"AWS_REGION": "us-east-1", **{k: DEPLOYED.get(v, v) for k, v in variables.items()}}


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"SlackMode": "app", "SlackAllowedUsers": "U0123ABCD, W0ENTGRID1"},
        {
            "MessageLanguage": "ja",
            "MessageTimeZone": "Asia/Tokyo",
            "AlertMention": "<!here> <@U012AB3CD>",
        },
        {"StopAlarmName": "web-prod-database", "RetryMissed": "3", "WarmPoolUncleared": "abandon"},
        {"RetryMissed": "0", "ClearOnWarmPoolExit": "false", "MaxConcurrency": "100%"},
        {"DeliveryTimeoutSeconds": "30", "MaxConcurrency": "10"},
        {"DeliveryTimeoutSeconds": "3600", "AllowedGroups": "web-prod"},
    ],
    ids=["defaults", "app", "ja", "braked", "no-retry", "short", "long"],
)
def test_both_functions_start_with_what_the_template_gives_them(parameters: dict[str, str]) -> None:
    stack = DeployedStack(parameters)
    dispatcher = DispatcherConfig.from_env(deployed_environment(stack, "DispatcherFunction"))
    notifier = NotifierConfig.from_env(deployed_environment(stack, "NotifierFunction"))
    # Both see the same shared settings.
    assert dispatcher.shared == notifier.shared
    assert notifier.retry_rounds == int(stack.parameter("RetryMissed"))
    assert dispatcher.notifier_alias_arn.endswith(":live")
