"""The stack as `sam deploy` makes it, on the embedded AWS: the resources the functions use, their
environment as template.yaml sets it, and both functions running in this process, the notifier
as a durable function behind its alias (harness.durable_lambda).

The same class serves the tests (under moto's `mock_aws`) and the local run (moto's server,
reached through AWS_ENDPOINT_URL); Slack is the stand-in of harness.slack_web_api in both.

    with Stack(slack) as stack:
        clear_id = stack.clear(group="web-prod")
        stack.outcome(clear_id)           # what the clear's execution returned
        stack.status(clear_id)            # GET /flush/{commandId}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import yaml

from harness import aws_emulator, cfn_template
from harness.aws_emulator import ACCOUNT_ID, REGION
from harness.durable_lambda import DurableLambda
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SIGNING_SECRET, SlackWebApi

GROUP = "web-prod"
TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D"
DOCUMENT = "apcu-fleet-flush-FlushDocument-Xk2P9QmL7RtA"
TOPIC = "apcu-fleet-flush-NotificationTopic-0a1B2c3D4e5F"
DISPATCHER = "apcu-fleet-flush-dispatcher"
DISPATCHER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{DISPATCHER}"
STOP_ALARM = "apcu-fleet-flush-database-load"
REQUESTER = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/PlatformEngineer/alice@example.com"
# The document's own timeoutSeconds (template.yaml, FlushDocument).
EXECUTION_TIMEOUT_SECONDS = "60"


def environment(**overrides: str) -> dict[str, str]:
    """Both functions' variables, as template.yaml sets them with its defaults."""
    env = {
        "AWS_REGION": REGION,
        "COMMANDS_TABLE": TABLE,
        "ALLOWED_GROUPS": GROUP,
        "DOCUMENT_NAME": DOCUMENT,
        "DELIVERY_TIMEOUT_SECONDS": "120",
        "EXECUTION_TIMEOUT_SECONDS": EXECUTION_TIMEOUT_SECONDS,
        "MAX_CONCURRENCY": "50%",
        "STOP_ALARM_NAME": "",
        "SLACK_MODE": "webhook",
        "SLACK_APP_SECRET_ARN": "",
        "SLACK_API_URL": "https://slack.com/api/",
        "SLACK_WEBHOOK_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:apcu-fleet-flush/slack-AbCdEf",
        "MESSAGE_LANGUAGE": "en",
        "MESSAGE_TIME_ZONE": "UTC",
        "DOCS_URL": "https://github.com/apcu-fleet-flush/apcu-fleet-flush",
        "ALERT_MENTION": "<!here>",
        "CLEAR_ON_WARM_POOL_EXIT": "true",
        "WARM_POOL_UNCLEARED": "continue",
        "RETRY_MISSED": "1",
        "NOTIFICATION_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC}",
        "NOTIFICATION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/apcu-fleet-flush-NotificationRole",
        "NOTIFIER_ALIAS_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:apcu-fleet-flush-notifier:live",
        "WARM_POOL_HOOK_NAME": "apcu-fleet-flush-warm-pool",
        "SLACK_ALLOWED_USERS": "U0APCUOPS",
    }
    env.update(overrides)
    return env


@dataclass
class Context:
    """The parts of LambdaContext that Powertools and the dispatcher read."""

    function_name: str = DISPATCHER
    invoked_function_arn: str = DISPATCHER_ARN
    memory_limit_in_mb: int = 256
    aws_request_id: str = "7b9e0c1d-2a3f-4b5c-8d6e-9f0a1b2c3d4e"
    log_group_name: str = f"/aws/lambda/{DISPATCHER}"
    log_stream_name: str = "2026/12/01/[1]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Stack:
    def __init__(
        self,
        slack: SlackWebApi,
        *,
        size: int = 3,
        mode: str = "webhook",
        endpoint_url: str | None = None,
        **env: str,
    ) -> None:
        self.slack = slack
        self.endpoint_url = endpoint_url
        self.instances = (
            aws_emulator.create_group(GROUP, size, endpoint_url=endpoint_url) if size else []
        )
        aws_emulator.create_commands_table(TABLE, endpoint_url=endpoint_url)
        self._client("ssm").create_document(
            Name=DOCUMENT,
            DocumentType="Command",
            DocumentFormat="YAML",
            Content=yaml.safe_dump(cfn_template.flush_document(), sort_keys=False),
        )
        secrets = self._client("secretsmanager")
        webhook = secrets.create_secret(
            Name="apcu-fleet-flush/slack-webhook", SecretString=slack.webhook_url
        )["ARN"]
        app = secrets.create_secret(
            Name="apcu-fleet-flush/slack-app",
            SecretString=json.dumps(
                {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL}
            ),
        )["ARN"]
        self.env = environment(
            SLACK_MODE=mode,
            SLACK_WEBHOOK_SECRET_ARN=webhook if mode == "webhook" else "",
            SLACK_APP_SECRET_ARN=app if mode == "app" else "",
            SLACK_API_URL=slack.base_url,
            **env,
        )
        if self.env["STOP_ALARM_NAME"]:
            self._client("cloudwatch").put_metric_alarm(
                AlarmName=STOP_ALARM,
                MetricName="DatabaseConnections",
                Namespace="AWS/RDS",
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=500,
                ComparisonOperator="GreaterThanThreshold",
            )
            self.alarm("OK")
        self.use(self.env)
        from apcu_dispatcher import api
        from apcu_notifier import handler

        self.dispatcher = api.lambda_handler
        self.lambda_ = DurableLambda(handler.lambda_handler, functions={DISPATCHER: self.dispatch})
        self.durable = self.lambda_

    def use(self, env: Mapping[str, str]) -> None:
        """Both functions with this environment, as a deploy with other parameters would give."""
        from apcu_dispatcher import api
        from apcu_dispatcher.config import Config as DispatcherConfig
        from apcu_dispatcher.runtime import Runtime as DispatcherRuntime
        from apcu_notifier import handler
        from apcu_notifier.config import Config as NotifierConfig
        from apcu_notifier.config import Runtime as NotifierRuntime

        self.env = dict(env)
        api.use_runtime(DispatcherRuntime(DispatcherConfig.from_env(self.env)))
        handler.use_runtime(NotifierRuntime(NotifierConfig.from_env(self.env)))

    def __enter__(self) -> Stack:
        self.lambda_.install()
        # SNS's subscription of the notifier's alias to SSM's notifications.
        aws_emulator.subscribe(self.lambda_.deliver)
        return self

    def __exit__(self, *_: object) -> None:
        aws_emulator.subscribe(None)
        aws_emulator.fleet_answers(None)
        self.lambda_.close()

    # -- what a caller does ----------------------------------------------------------------

    def dispatch(self, event: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.dispatcher(event, Context())
        return answer

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        requester: str = REQUESTER,
        raw: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """An HTTP API request (payload 2.0), IAM-signed by `requester`; its status and body."""
        answer = self.dispatch(api_event(method, path, body, requester=requester, raw=raw))
        text = answer.get("body") or "{}"
        return int(answer["statusCode"]), json.loads(text) if isinstance(text, str) else text

    def clear(self, **body: Any) -> str:
        """POST /flush; the clear's id (the 202's commandId)."""
        status, answer = self.api(
            "POST", "/flush", {"group": GROUP, "action": "clear-apcu", **body}
        )
        assert status == 202, answer
        return str(answer["commandId"])

    def status(self, clear_id: str) -> dict[str, Any]:
        status, answer = self.api("GET", f"/flush/{clear_id}")
        assert status == 200, answer
        return answer

    def outcome(self, clear_id: str) -> dict[str, Any]:
        """What the clear's execution returned, once it ended."""
        return self.lambda_.outcome(clear_id)

    def verdict(self, clear_id: str) -> dict[str, Any]:
        """The verdict the clear recorded (what GET /flush/{commandId} answers)."""
        self.outcome(clear_id)
        answer = self.status(clear_id)
        verdict: dict[str, Any] = answer["verdict"]
        return verdict

    def alarm(self, state: str) -> None:
        """The stop alarm, in `state` (OK or ALARM)."""
        # Through moto's backend, not the API: a test that counts the functions' calls to
        # CloudWatch sees only theirs.
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[ACCOUNT_ID][REGION].set_alarm_state(
            STOP_ALARM, f"the database is {state}", "{}", state
        )

    def _client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


def api_event(
    method: str, path: str, body: Any = None, *, requester: str = REQUESTER, raw: str | None = None
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) request as API Gateway hands it to Lambda, IAM-authorised."""
    route = {"POST /flush": "POST /flush", "POST /slack/actions": "POST /slack/actions"}.get(
        f"{method} {path}"
    )
    parameters: dict[str, str] = {}
    if route is None:
        parts = path.strip("/").split("/")
        parameters = {"commandId": parts[1]} if len(parts) > 1 else {}
        route = f"{method} /flush/{{commandId}}" + ("/retry" if path.endswith("/retry") else "")
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "apcu-flush",
            },
            "requestId": "Zx1Abc2DEFGhi=",
            "routeKey": route,
            "stage": "$default",
            "time": "01/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1796115600000,
        },
        "pathParameters": parameters,
        "isBase64Encoded": False,
    }
    if requester:
        event["requestContext"]["authorizer"] = {
            "iam": {"accountId": ACCOUNT_ID, "callerId": "AROAEXAMPLE:alice", "userArn": requester}
        }
    if text is not None:
        event["body"] = text
    return event


def slack_event(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """POST /slack/actions as HTTP API hands it on: a form body, base64-encoded."""
    event = api_event("POST", "/slack/actions", requester="")
    event["headers"] = {
        "content-type": "application/x-www-form-urlencoded",
        **{k.lower(): v for k, v in headers.items()},
    }
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event
