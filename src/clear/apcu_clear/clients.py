"""A function's AWS clients, each built on first use and kept for the container's life: a
client costs the cold start its service model, and a function only builds those it calls. All
come from boto3's default session, as the durable SDK's own client does: one loader reads
botocore's endpoint and retry data once per container (make bench). Built in the handler's
thread only: a session is not thread-safe."""

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
    def ssm(self) -> SSMClient:
        return boto3.client("ssm", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def ssm_send(self) -> SSMClient:
        return boto3.client("ssm", region_name=self.region, config=SEND_CONFIG)

    @cached_property
    def autoscaling(self) -> AutoScalingClient:
        return boto3.client("autoscaling", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def lambda_(self) -> LambdaClient:
        return boto3.client("lambda", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return boto3.client("cloudwatch", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def ec2(self) -> EC2Client:
        return boto3.client("ec2", region_name=self.region, config=CLIENT_CONFIG)

    @cached_property
    def secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        client = boto3.client("secretsmanager", region_name=self.region, config=CLIENT_CONFIG)
        return SecretsProvider(boto3_client=client)
