"""A function's AWS clients, each built on first use and kept for the container's life: a
client costs the cold start its service model, and a function only builds those it calls."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ssm import SSMClient

    from apcu_clear.settings import Settings

# AWS answers in well under a second: a read that takes 5 s is a stall worth another attempt.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
)
# SendCommand has no idempotency token: its client makes one attempt, apcu_clear.command decides
# what is tried again.
SEND_CONFIG = CLIENT_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


class Clients:
    """The clients, and the table and the clock every step of both functions uses."""

    def __init__(self, shared: Settings) -> None:
        self.region = shared.region
        self.table = shared.table

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.region)

    @cached_property
    def ssm(self) -> SSMClient:
        return self.session.client("ssm", config=CLIENT_CONFIG)

    @cached_property
    def ssm_send(self) -> SSMClient:
        return self.session.client("ssm", config=SEND_CONFIG)

    @cached_property
    def autoscaling(self) -> AutoScalingClient:
        return self.session.client("autoscaling", config=CLIENT_CONFIG)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", config=CLIENT_CONFIG)

    @cached_property
    def lambda_(self) -> LambdaClient:
        return self.session.client("lambda", config=CLIENT_CONFIG)

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return self.session.client("cloudwatch", config=CLIENT_CONFIG)

    @cached_property
    def ec2(self) -> EC2Client:
        return self.session.client("ec2", config=CLIENT_CONFIG)

    @cached_property
    def secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        client = self.session.client("secretsmanager", config=CLIENT_CONFIG)
        return SecretsProvider(boto3_client=client)
