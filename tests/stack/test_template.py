"""What `sam deploy` would create from template.yaml, checked offline after the SAM transform:
the functions, the API, the document the fleet runs and the outputs.

Every test here guards a promise of the stack: an API nobody can call anonymously, the one
script the fleet may run, settings that reach the functions. Each compares with exact values,
so a dropped setting fails the build. IAM, the durable notifier, the warm pool, Slack's modes
and the alarms have files of their own beside this one.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from importlib.metadata import version
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from harness import cfn_template
from tests.stack import deployed
from tests.stack.checks import EXISTING_SECRET, arn, frozen, no_condition
from tests.stack.deployed import ACCOUNT_ID, REGION, DeployedStack, _transformed, role_statements

REPO = Path(__file__).resolve().parents[2]
# The public layer of the Powertools release the tests run with (tests/stack/test_powertools_pin.py).
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/arm64/python3.13/{version('aws-lambda-powertools')}"
)


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    """The stack with its defaults and the one required parameter."""
    return DeployedStack()


# ------------------------------------------------------------------------------ functions


@pytest.mark.parametrize(
    ("function", "code_folder"),
    [("DispatcherFunction", "src/dispatcher/"), ("NotifierFunction", "src/notifier/")],
)
def test_each_function_is_built_from_its_folder_with_app_lambda_handler(
    function: str, code_folder: str
) -> None:
    sam_properties = cfn_template.load()["Resources"][function]["Properties"]
    assert sam_properties["CodeUri"] == code_folder
    assert sam_properties["Handler"] == "app.lambda_handler"
    app = REPO / code_folder / "app.py"
    assert "lambda_handler" in app.read_text(encoding="utf-8"), f"{app} must export lambda_handler"


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_each_function_runs_python313_on_arm64_with_powertools_and_the_stacks_sdk_layer(
    stack: DeployedStack, function: str
) -> None:
    properties = stack.properties(function)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    # Powertools' layer ARN is read from the public parameter at deploy time, for this very
    # architecture, Python version and Powertools release; then the stack's own SDK layer,
    # last, so that its boto3 and botocore are the ones Python imports.
    layer_id, layer = stack.only("AWS::Lambda::LayerVersion")
    assert properties["Layers"] == [f"ssm:{POWERTOOLS_LAYER_PARAMETER}", "{" + layer_id + "}"]
    assert stack.template["Parameters"]["PowertoolsLayerArn"]["Type"] == (
        "AWS::SSM::Parameter::Value<String>"
    )
    assert layer["CompatibleRuntimes"] == [properties["Runtime"]]
    assert layer["CompatibleArchitectures"] == properties["Architectures"]
    assert properties["MemorySize"] <= 512
    # The dispatcher answers HTTP API requests, which API Gateway cuts off at 30 s; the
    # notifier runs a clear's steps until its next wait.
    assert properties["Timeout"] <= (30 if function == "DispatcherFunction" else 120)


def test_functions_log_to_their_own_groups_with_a_retention(stack: DeployedStack) -> None:
    for function, group in [
        ("DispatcherFunction", "DispatcherLogGroup"),
        ("NotifierFunction", "NotifierLogGroup"),
    ]:
        assert stack.properties(function)["LoggingConfig"]["LogGroup"] == "{" + group + "}"
        assert stack.properties(group)["RetentionInDays"] == "90"


# The settings both functions read (src/clear/apcu_clear/settings.py), as the defaults give them.
SHARED = {
    "COMMANDS_TABLE": "{CommandsTable}",
    "ALLOWED_GROUPS": "web-prod,web-staging",
    "DOCUMENT_NAME": "{FlushDocument}",
    "DELIVERY_TIMEOUT_SECONDS": "120",
    "EXECUTION_TIMEOUT_SECONDS": "60",
    "MAX_CONCURRENCY": "50%",
    "STOP_ALARM_NAME": "",
    "SLACK_MODE": "webhook",
    "SLACK_APP_SECRET_ARN": "",
    "SLACK_API_URL": "https://slack.com/api/",
}
POWERTOOLS = {
    "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
    "LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def test_dispatcher_environment_is_the_configuration_contract(stack: DeployedStack) -> None:
    assert stack.properties("DispatcherFunction")["Environment"]["Variables"] == {
        **POWERTOOLS,
        **SHARED,
        "POWERTOOLS_SERVICE_NAME": "dispatcher",
        "NOTIFICATION_TOPIC_ARN": "{NotificationTopic}",
        "NOTIFICATION_ROLE_ARN": "{NotificationRole.Arn}",
        # Clears start on the notifier's alias, never on the function itself.
        "NOTIFIER_ALIAS_ARN": "{NotifierFunctionAliaslive}",
        "WARM_POOL_HOOK_NAME": "apcu-fleet-flush-warm-pool",
        "SLACK_ALLOWED_USERS": "",
    }


def test_notifier_environment_is_the_configuration_contract(stack: DeployedStack) -> None:
    assert stack.properties("NotifierFunction")["Environment"]["Variables"] == {
        **POWERTOOLS,
        **SHARED,
        "POWERTOOLS_SERVICE_NAME": "notifier",
        "SLACK_WEBHOOK_SECRET_ARN": "{SlackWebhookSecret}",
        "MESSAGE_LANGUAGE": "en",
        "MESSAGE_TIME_ZONE": "UTC",
        "DOCS_URL": "https://github.com/apcu-fleet-flush/apcu-fleet-flush",
        "ALERT_MENTION": "",
        "CLEAR_ON_WARM_POOL_EXIT": "true",
        "WARM_POOL_UNCLEARED": "continue",
        "RETRY_MISSED": "1",
    }


def test_operator_settings_reach_the_functions() -> None:
    # Given the prod-like settings an operator passes at deploy time
    stack = DeployedStack(
        {
            "AllowedGroups": "web-prod",
            "MessageLanguage": "ja",
            "MessageTimeZone": "Asia/Tokyo",
            "DocsUrl": "https://wiki.example.com/platform/apcu",
            "AlertMention": "<!here>",
            "MaxConcurrency": "25%",
            "DeliveryTimeoutSeconds": "300",
            "RetryMissed": "3",
            "LogLevel": "DEBUG",
        }
    )
    # Then each function sees them
    dispatcher = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    notifier = stack.properties("NotifierFunction")["Environment"]["Variables"]
    for variables in (dispatcher, notifier):
        assert variables["ALLOWED_GROUPS"] == "web-prod"
        assert variables["MAX_CONCURRENCY"] == "25%"
        assert variables["DELIVERY_TIMEOUT_SECONDS"] == "300"
        assert variables["LOG_LEVEL"] == "DEBUG"
    assert notifier["MESSAGE_LANGUAGE"] == "ja"
    assert notifier["MESSAGE_TIME_ZONE"] == "Asia/Tokyo"
    assert notifier["DOCS_URL"] == "https://wiki.example.com/platform/apcu"
    assert notifier["ALERT_MENTION"] == "<!here>"
    assert notifier["RETRY_MISSED"] == "3"


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_tracing_is_off_by_default_and_the_code_is_told_so(
    stack: DeployedStack, function: str
) -> None:
    # PassThrough: Lambda records its own segment only for an upstream sampled request, and
    # the function, told by POWERTOOLS_TRACE_DISABLED, does not even load the X-Ray SDK.
    properties = stack.properties(function)
    assert properties["TracingConfig"] == {"Mode": "PassThrough"}
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    role = function.replace("Function", "Role")
    actions = {a for s in role_statements(stack.properties(role)) for a in frozen(s)[1]}
    assert not {a for a in actions if a.startswith("xray:")}


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_active_tracing_traces_each_function_and_lets_it_write_traces(function: str) -> None:
    stack = DeployedStack({"Tracing": "Active"})
    properties = stack.properties(function)
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    role = function.replace("Function", "Role")
    granted = {frozen(s) for s in role_statements(stack.properties(role))}
    # X-Ray defines no resource type for these actions: "*" is the only form.
    assert (
        "Allow",
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
        ("*",),
        no_condition(),
    ) in granted


def test_notifier_runs_one_at_a_time_to_stay_under_slacks_rate_limit(
    stack: DeployedStack,
) -> None:
    assert int(stack.properties("NotifierFunction")["ReservedConcurrentExecutions"]) == 1
    assert "ReservedConcurrentExecutions" not in stack.properties("DispatcherFunction")


def test_notifier_concurrency_can_be_left_unreserved_for_small_accounts() -> None:
    stack = DeployedStack({"NotifierReservedConcurrency": "none"})
    assert "ReservedConcurrentExecutions" not in stack.properties("NotifierFunction")


@pytest.mark.parametrize(
    ("function", "folder"), [("DispatcherFunction", "dispatcher"), ("NotifierFunction", "notifier")]
)
def test_both_functions_ship_the_clear_package_from_their_makefiles(
    function: str, folder: str
) -> None:
    resources = cfn_template.load()["Resources"]
    assert resources[function]["Metadata"]["BuildMethod"] == "makefile"
    makefile = (REPO / "src" / folder / "Makefile").read_text(encoding="utf-8")
    assert f"build-{function}:" in makefile
    assert "../clear/apcu_clear" in makefile
    assert '"$(CLEAR_PACKAGE)"' in makefile


# ------------------------------------------------------------------------------ API


def api_operations(api: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in api["Body"]["paths"].items()
        for method, operation in item.items()
    }


IAM_ROUTES = (
    ("post", "/flush"),
    ("get", "/flush/{commandId}"),
    ("post", "/flush/{commandId}/retry"),
)
# Slack cannot sign SigV4: the dispatcher checks Slack's signature before anything else
# (tests/dispatcher/test_slack_actions.py).
SLACK_ROUTE = ("post", "/slack/actions")
ROUTES = (*IAM_ROUTES, SLACK_ROUTE)


def test_every_route_but_slacks_needs_a_sigv4_signature(stack: DeployedStack) -> None:
    (api,) = stack.of_type("AWS::ApiGatewayV2::Api").values()
    operations = api_operations(api)
    assert set(operations) == set(ROUTES)
    for route in IAM_ROUTES:
        assert operations[route]["security"] == [{"AWS_IAM": []}]
    # SAM's spelling of "no authorizer" under a default one (HttpApiFunctionAuth, Authorizer NONE)
    assert operations[SLACK_ROUTE]["security"] == [{"NONE": []}]
    scheme = api["Body"]["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    # Routes declared outside the OpenAPI body must not slip past IAM either.
    for route in stack.of_type("AWS::ApiGatewayV2::Route").values():
        assert route["AuthorizationType"] == "AWS_IAM"
    for url in stack.of_type("AWS::Lambda::Url").values():
        assert url["AuthType"] == "AWS_IAM"


def test_every_api_route_invokes_the_dispatcher(stack: DeployedStack) -> None:
    (api,) = stack.of_type("AWS::ApiGatewayV2::Api").values()
    for route in ROUTES:
        integration = api_operations(api)[route]["x-amazon-apigateway-integration"]
        assert "{DispatcherFunction.Arn}" in integration["uri"]
        assert integration["payloadFormatVersion"] == "2.0"
    permissions = [
        p
        for p in stack.of_type("AWS::Lambda::Permission").values()
        if p["FunctionName"] == "{DispatcherFunction}"
        and p["Principal"] == "apigateway.amazonaws.com"
    ]
    assert sorted(p["SourceArn"] for p in permissions) == [
        arn("execute-api", "{FlushApi}/*/GET/flush/*"),
        arn("execute-api", "{FlushApi}/*/POST/flush"),
        arn("execute-api", "{FlushApi}/*/POST/flush/*/retry"),
        arn("execute-api", "{FlushApi}/*/POST/slack/actions"),
    ]
    assert stack.outputs["ApiUrl"] == (
        f"https://{{FlushApi}}.execute-api.{REGION}.amazonaws.com/flush"
    )


def test_the_api_is_throttled_and_logs_who_called_it(stack: DeployedStack) -> None:
    (api_stage,) = stack.of_type("AWS::ApiGatewayV2::Stage").values()
    route_settings = api_stage["DefaultRouteSettings"]
    # A caller's retry loop must not become a stream of fleet-wide clears.
    assert route_settings["ThrottlingRateLimit"] <= 1
    assert route_settings["ThrottlingBurstLimit"] <= 2
    logs = api_stage["AccessLogSettings"]
    assert logs["DestinationArn"] == "{ApiAccessLogGroup.Arn}"
    entry = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", logs["Format"]))
    assert logs["Format"].count("$context.identity.userArn") == 1
    assert {"requestId", "caller", "route", "status"} <= set(entry)


def test_the_api_access_log_group_is_a_vended_log_group_named_after_the_stack(
    stack: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Groups under /aws/vendedlogs/ share one entry of the account's CloudWatch Logs resource
    # policy; any other name adds an entry of its own, and that policy has a size limit.
    log_group = stack.properties("ApiAccessLogGroup")
    assert log_group["LogGroupName"] == (
        "/aws/vendedlogs/apcu-fleet-flush/apcu-fleet-flush/api-access"
    )
    assert log_group["RetentionInDays"] == "90"
    # A second stack in the same account (prod beside staging) gets a group of its own.
    monkeypatch.setitem(deployed.PSEUDO_PARAMETERS, "AWS::StackName", "apcu-fleet-flush-prod")
    assert DeployedStack().properties("ApiAccessLogGroup")["LogGroupName"] == (
        "/aws/vendedlogs/apcu-fleet-flush/apcu-fleet-flush-prod/api-access"
    )


# ------------------------------------------------------------------------------ the document


def flush_document(stack: DeployedStack) -> dict[str, Any]:
    return stack.properties("FlushDocument")


def test_document_is_a_command_document_updated_in_place_by_new_versions(
    stack: DeployedStack,
) -> None:
    document = flush_document(stack)
    assert document["DocumentType"] == "Command"
    assert document["DocumentFormat"] == "YAML"
    assert document["UpdateMethod"] == "NewVersion"
    assert document["Content"]["schemaVersion"] == "2.2"
    (step,) = document["Content"]["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_both_functions_know_the_documents_execution_timeout(
    stack: DeployedStack, function: str
) -> None:
    # A command lives at most the delivery timeout plus the script's timeoutSeconds: the
    # dispatcher looks that far back for a clear still running and claims the group that
    # long, and the clear waits that long for it. A shorter value would call a healthy
    # command stuck.
    (step,) = flush_document(stack)["Content"]["mainSteps"]
    variables = stack.properties(function)["Environment"]["Variables"]
    assert variables["EXECUTION_TIMEOUT_SECONDS"] == step["inputs"]["timeoutSeconds"] == "60"


def test_document_takes_an_action_and_a_prefix_checked_with_the_dispatchers_pattern(
    stack: DeployedStack,
) -> None:
    from apcu_dispatcher.validation import DOCUMENT_PREFIX_PATTERN, PREFIX_PATTERN

    parameters = flush_document(stack)["Content"]["parameters"]
    assert set(parameters) == {"action", "prefix"}
    action = parameters["action"]
    # SSM refuses any other action before the script runs.
    assert action["allowedPattern"] == "^(clear-apcu|reset-opcache|clear-all)$"
    assert action["type"] == "String"
    assert action["default"] == "clear-apcu"
    assert action["interpolationType"] == "ENV_VAR"
    prefix = parameters["prefix"]
    assert prefix["allowedPattern"] == DOCUMENT_PREFIX_PATTERN == "^$|" + PREFIX_PATTERN
    assert PREFIX_PATTERN == "^[A-Za-z0-9_.:-]{1,64}$"
    assert prefix["type"] == "String"
    assert prefix["default"] == ""
    assert prefix["interpolationType"] == "ENV_VAR"


@pytest.mark.parametrize("value", ["", "users:", "cache.v2_a-b", "x" * 64])
def test_document_pattern_accepts_a_prefix_or_nothing(stack: DeployedStack, value: str) -> None:
    pattern = flush_document(stack)["Content"]["parameters"]["prefix"]["allowedPattern"]
    assert re.search(pattern, value)


@pytest.mark.parametrize(
    "value", ["a b", "a'b", '"', "$(id)", "`id`", "a;reboot", "a\nb", "x" * 65, "ключ"]
)
def test_document_pattern_refuses_anything_a_shell_could_read_as_code(
    stack: DeployedStack, value: str
) -> None:
    pattern = flush_document(stack)["Content"]["parameters"]["prefix"]["allowedPattern"]
    assert not re.search(pattern, value)


def flush_script_template(stack: DeployedStack) -> str:
    """The runCommand as written in the template, before CloudFormation's Fn::Sub."""
    raw_steps = stack.template["Resources"]["FlushDocument"]["Properties"]["Content"]["mainSteps"]
    (command,) = raw_steps[0]["inputs"]["runCommand"]
    script = command["Fn::Sub"]
    assert isinstance(script, str)
    return script


def test_script_fails_the_invocation_on_any_error(stack: DeployedStack) -> None:
    script = flush_script_template(stack)
    assert script.splitlines()[0] == "set -eu"
    curls = [
        line for line in script.splitlines() if "curl" in line and not line.lstrip().startswith("#")
    ]
    # APCu with and without a prefix, OPcache's reset and its confirmation.
    assert len(curls) == 4
    for line in curls:
        # -f fails on an HTTP error; --fail-with-body also prints opcache.php's reason.
        assert " curl -fsS " in line or " curl -sS --fail-with-body " in line
        assert "--max-time " in line


def test_script_runs_curl_in_the_container_without_asking_for_a_terminal(
    stack: DeployedStack,
) -> None:
    script = flush_script_template(stack)
    assert "container='${ContainerName}'" in script
    execs = [
        line.strip() for line in script.splitlines() if "docker exec" in line and "echo" not in line
    ]
    # One way into the container, through which every curl goes (on_node); with no option
    # at all between `exec` and the container: in particular no -t or -it, which asks for a
    # terminal SSM does not have.
    assert execs == ['docker exec "$container" "$@"']
    curls = [
        line
        for line in script.splitlines()
        if "curl " in line and not line.lstrip().startswith("#")
    ]
    assert len(curls) == 4
    assert all("on_node curl " in line for line in curls), curls
    assert " -t " not in script and " -it " not in script and "--tty" not in script


def test_script_uses_only_the_container_name_and_port_parameters(stack: DeployedStack) -> None:
    script = flush_script_template(stack)
    substituted = set(re.findall(r"\$\{(?!!)([^}]*)\}", script))
    assert substituted == {"ContainerName", "ApcuPort"}
    assert "url='http://127.0.0.1:${ApcuPort}/apcu.php'" in script
    assert "opcache_url='http://127.0.0.1:${ApcuPort}/opcache.php'" in script
    # After CloudFormation's Fn::Sub: the parameters filled in, `${!X}` turned into `${X}`.
    deployed = deployed_script(DeployedStack({"ContainerName": "php-web", "ApcuPort": "9123"}))
    assert "container='php-web'" in deployed
    # Empty, for nginx and php-fpm installed on the instance itself
    on_host = deployed_script(DeployedStack({"ContainerName": "", "ApcuPort": "9123"}))
    assert "container=''" in on_host
    assert "url='http://127.0.0.1:9123/apcu.php'" in deployed
    assert 'if [ -z "${SSM_prefix+x}" ]; then' in deployed
    assert 'if [ -z "${SSM_action+x}" ]; then' in deployed
    assert "${!" not in deployed


def deployed_script(stack: DeployedStack) -> str:
    (command,) = stack.properties("FlushDocument")["Content"]["mainSteps"][0]["inputs"][
        "runCommand"
    ]
    assert isinstance(command, str)
    return command


def test_the_shared_template_reader_gives_the_script_cloudformation_deploys() -> None:
    # The web node test and the local run take the script from harness.cfn_template;
    # it must be the very script CloudFormation would put in the document.
    values = {"ContainerName": "php-web", "ApcuPort": "9123"}
    assert cfn_template.flush_script(values).rstrip("\n") == deployed_script(
        DeployedStack(values)
    ).rstrip("\n")


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        (
            "ContainerName",
            # Empty: nginx and php-fpm installed on the instance, no container
            ["nginx", "web_1.php-fpm", "a", ""],
            ["-rm", "a b", "nginx;id", "$(id)", "'", "x" * 129, " ", "nginx\n"],
        ),
        ("ApcuPort", ["80", "8099", "65535"], ["", "0", "080", "80 ", "8O", "123456"]),
        (
            "AllowedGroups",
            ["web-prod", "web-prod,web-staging", "awseb-e-abc123-stack-AWSEBAutoScalingGroup-X1"],
            ["", "web prod", "web-prod,", ",web", "${aws:username}", "*", "web-prod, web-staging"],
        ),
        (
            "MaxConcurrency",
            ["1", "10", "50%", "5%", "100%"],
            ["0", "0%", "101%", "50 %", "-1", "1000%"],
        ),
        (
            "AlertMention",
            [
                "",
                "<!here>",
                "<!channel>",
                "<@U012AB3CD>",
                "<!subteam^S012AB3CD>",
                "<!here> <@U012AB3CD>",
            ],
            [
                "@here",
                "here",
                "<https://example.com|click>",
                "<!here>;",
                " <!here>",
                "<!here><!channel>",
            ],
        ),
        (
            "SlackWebhookSecretArn",
            ["", EXISTING_SECRET],
            [
                "slack-webhook",
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-webhook",
            ],
        ),
        (
            "MessageTimeZone",
            ["UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires", "Etc/GMT+9", "GMT0"],
            ["", "Tokyo time", "../etc/passwd", "Asia//Tokyo", "/UTC", " UTC", "Asia/Tokyo\n"],
        ),
        (
            "DocsUrl",
            [
                "https://github.com/apcu-fleet-flush/apcu-fleet-flush",
                "https://wiki.example.com:8443/platform/apcu#runbooks",
                "https://docs.example.com",
            ],
            [
                "",
                "http://wiki.example.com/apcu",
                "https://wiki.example.com/a b",
                "https://wiki.example.com/a|click",
                "https://wiki.example.com/<!here>",
                "javascript:alert(1)",
            ],
        ),
    ],
)
def test_stack_parameters_refuse_values_that_would_break_or_widen_the_stack(
    stack: DeployedStack, parameter: str, good: list[str], bad: list[str]
) -> None:
    pattern = stack.template["Parameters"][parameter]["AllowedPattern"]
    # CloudFormation matches AllowedPattern against the whole value.
    for value in good:
        assert re.fullmatch(pattern, value), (parameter, value)
    for value in bad:
        assert not re.fullmatch(pattern, value), (parameter, value)


def test_every_time_zone_python_knows_is_a_message_time_zone_the_stack_takes(
    stack: DeployedStack,
) -> None:
    # The notifier reads MESSAGE_TIME_ZONE with zoneinfo: whatever IANA name it can use, the
    # parameter lets through, and the default is one of them.
    pattern = stack.template["Parameters"]["MessageTimeZone"]["AllowedPattern"]
    zones = zoneinfo.available_timezones()
    assert len(zones) > 300, "the IANA database is installed"
    refused = sorted(zone for zone in zones if not re.fullmatch(pattern, zone))
    assert not refused
    assert stack.parameter("MessageTimeZone") in zones


def test_sendcommand_settings_are_limited_to_what_ssm_accepts(stack: DeployedStack) -> None:
    send_command = (
        botocore.session.get_session().get_service_model("ssm").operation_model("SendCommand")
    )
    assert send_command.input_shape is not None
    members = send_command.input_shape.members
    parameters = stack.template["Parameters"]
    assert (
        parameters["MaxConcurrency"]["AllowedPattern"]
        == members["MaxConcurrency"].metadata["pattern"]
    )
    assert re.fullmatch(
        members["MaxConcurrency"].metadata["pattern"], parameters["MaxConcurrency"]["Default"]
    )
    timeout = members["TimeoutSeconds"].metadata
    assert parameters["DeliveryTimeoutSeconds"]["MinValue"] == timeout["min"]
    assert parameters["DeliveryTimeoutSeconds"]["MaxValue"] <= timeout["max"]
    assert parameters["MessageLanguage"]["AllowedValues"] == ["en", "ja"]


# ------------------------------------------------------------------------------ outputs


def test_outputs_give_everything_an_operator_needs_next(stack: DeployedStack) -> None:
    assert stack.outputs == {
        "ApiUrl": f"https://{{FlushApi}}.execute-api.{REGION}.amazonaws.com/flush",
        "NotificationTopicArn": "{NotificationTopic}",
        "DocumentName": "{FlushDocument}",
        "DispatcherFunctionName": "{DispatcherFunction}",
        "NotifierFunctionName": "{NotifierFunction}",
        "NotifierFailureQueueUrl": "{NotifierFailureQueue}",
        "NotificationDeadLetterQueueUrl": "{NotificationDeadLetterQueue}",
        "WarmPoolExitFailureQueueUrl": "{WarmPoolExitFailureQueue}",
        "SlackWebhookSecretArn": "{SlackWebhookSecret}",
        "CommandsTableName": "{CommandsTable}",
        "NotificationRoleArn": "{NotificationRole.Arn}",
        "NotifierAliasArn": "{NotifierFunctionAliaslive}",
    }
    off = {"ClearOnWarmPoolExit": "false", "WarmPoolHookName": ""}
    assert "WarmPoolExitFailureQueueUrl" not in DeployedStack(off).outputs
    # Either way in alone keeps the failure queue: its events fail to it; and so does app
    # mode, whose Slack work is an asynchronous event too.
    assert "WarmPoolExitFailureQueueUrl" in DeployedStack({"ClearOnWarmPoolExit": "false"}).outputs
    assert "WarmPoolExitFailureQueueUrl" in DeployedStack({**off, "SlackMode": "app"}).outputs


def test_the_outputs_fill_the_local_runs_environment(stack: DeployedStack) -> None:
    # events/env.json (sam local invoke) takes the ARNs the dispatcher is given from the outputs.
    variables = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert stack.outputs["NotifierAliasArn"] == variables["NOTIFIER_ALIAS_ARN"]
    assert stack.outputs["NotificationRoleArn"] == variables["NOTIFICATION_ROLE_ARN"]
    assert stack.outputs["NotificationTopicArn"] == variables["NOTIFICATION_TOPIC_ARN"]


def _references(node: Any, names: set[str]) -> set[str]:
    """The resources a property tree refers to: Ref, Fn::GetAtt and ${...} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= _references(value[1], names)
            else:
                found |= _references(value, names)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value, names)
    return found & names


def test_the_resources_depend_on_each_other_in_no_circle() -> None:
    # CloudFormation refuses a template whose resources refer to each other in a circle; each
    # role, its function, the notifier's alias and the grants naming them come closest.
    resources = _transformed()["Resources"]
    names = set(resources)
    edges = {
        name: _references(resource.get("Properties", {}), names)
        | set(
            [resource["DependsOn"]]
            if isinstance(resource.get("DependsOn"), str)
            else resource.get("DependsOn", [])
        )
        for name, resource in resources.items()
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(names):
        visit(name, ())
