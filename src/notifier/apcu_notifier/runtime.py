"""What an event is handled with: the configuration and the clients, built once per container.

The layers run one way: handler -> watchdog -> posting -> runtime. This module imports none of
them, so any of them can take a Runtime without importing the one above it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from apcu_notifier.budget import AWS_CLIENT_CONFIG, DYNAMODB_CLIENT_CONFIG, SLACK_POLICY
from apcu_notifier.config import Config
from apcu_notifier.idempotency import Ledger, utc_now
from apcu_notifier.slack import RetryPolicy

if TYPE_CHECKING:
    import requests
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_ssm import SSMClient

    from apcu_notifier.slack_web import SlackWeb


@dataclass
class Runtime:
    config: Config
    ssm: SSMClient
    autoscaling: AutoScalingClient
    secrets: SecretsProvider
    # Webhook mode's HTTP session; None in app mode, which posts through slack_sdk.
    http: requests.Session | None
    ledger: Ledger | None = None
    sleep: Callable[[float], None] = time.sleep
    # DescribeInstances, only when InService instances are missing from the invocations. The
    # client is built on first use: EC2's service model is large, and loading it on every cold
    # start would cost the verdicts that never need it.
    ec2_factory: Callable[[], EC2Client] | None = None
    ec2_client: EC2Client | None = None

    # CreateSchedule, only for a command still running past its expiry; built on first use
    # like EC2's, so that the verdicts that never re-arm a watchdog do not load its model.
    scheduler_factory: Callable[[], EventBridgeSchedulerClient] | None = None
    scheduler_client: EventBridgeSchedulerClient | None = None
    # DescribeAlarms, only for an automatic retry under a stop alarm; built on first use.
    cloudwatch_factory: Callable[[], CloudWatchClient] | None = None
    cloudwatch_client: CloudWatchClient | None = None
    clock: Callable[[], dt.datetime] = utc_now
    # Timeouts and attempts that fit the function's timeout (apcu_notifier.budget).
    slack_policy: RetryPolicy = SLACK_POLICY
    # Slack app mode's Web API client (SLACK_MODE=app); None in webhook mode.
    slack_web: SlackWeb | None = None

    def ec2(self) -> EC2Client | None:
        if self.ec2_client is None and self.ec2_factory is not None:
            self.ec2_client = self.ec2_factory()
        return self.ec2_client

    def cloudwatch(self) -> CloudWatchClient | None:
        if self.cloudwatch_client is None and self.cloudwatch_factory is not None:
            self.cloudwatch_client = self.cloudwatch_factory()
        return self.cloudwatch_client

    def scheduler(self) -> EventBridgeSchedulerClient | None:
        if self.scheduler_client is None and self.scheduler_factory is not None:
            self.scheduler_client = self.scheduler_factory()
        return self.scheduler_client


def build_runtime(config: Config, session: boto3.Session | None = None) -> Runtime:
    session = session or boto3.Session(region_name=config.region)
    ledger = None
    if config.commands_table:
        ledger = Ledger(
            config.commands_table, session.client("dynamodb", config=DYNAMODB_CLIENT_CONFIG)
        )
    slack_web = None
    http = None
    if config.slack.is_app:
        # Imported here: webhook mode's cold start never loads slack_sdk.
        from apcu_notifier.slack_web import build_web

        slack_web = build_web(config.slack.api_url, config.slack.secret_arn, SLACK_POLICY)
    else:
        # And app mode's never loads requests (with idna, some 55 ms).
        import requests

        http = requests.Session()
    return Runtime(
        config=config,
        ssm=session.client("ssm", config=AWS_CLIENT_CONFIG),
        autoscaling=session.client("autoscaling", config=AWS_CLIENT_CONFIG),
        secrets=SecretsProvider(
            boto3_client=session.client("secretsmanager", config=AWS_CLIENT_CONFIG)
        ),
        http=http,
        ledger=ledger,
        ec2_factory=lambda: session.client("ec2", config=AWS_CLIENT_CONFIG),
        scheduler_factory=lambda: session.client("scheduler", config=AWS_CLIENT_CONFIG),
        cloudwatch_factory=lambda: session.client("cloudwatch", config=AWS_CLIENT_CONFIG),
        slack_web=slack_web,
    )
