"""A function's AWS clients, each built on first use and kept for the container's life: a
client costs the cold start its service model, and a function only builds those it calls."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

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

# AWS answers in well under a second: a read that takes 5 s is a stall worth another attempt.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
)
# SendCommand has no idempotency token: its client makes one attempt, apcu_clear.command decides
# what is tried again.
SEND_CONFIG = CLIENT_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


def _client(
    service: Literal["ssm", "autoscaling", "dynamodb", "lambda", "cloudwatch", "ec2"],
    *,
    send: bool = False,
) -> Any:
    # The configuration is looked up when the client is built (bench/ makes it more patient).
    def build(clients: Clients) -> Any:
        return clients.session.client(service, config=SEND_CONFIG if send else CLIENT_CONFIG)

    return cached_property(build)


class Clients:
    def __init__(self, region: str) -> None:
        self.region = region

    ssm: SSMClient = _client("ssm")
    ssm_send: SSMClient = _client("ssm", send=True)
    autoscaling: AutoScalingClient = _client("autoscaling")
    dynamodb: DynamoDBClient = _client("dynamodb")
    lambda_: LambdaClient = _client("lambda")
    cloudwatch: CloudWatchClient = _client("cloudwatch")
    ec2: EC2Client = _client("ec2")

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.region)

    @cached_property
    def secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(
            boto3_client=self.session.client("secretsmanager", config=CLIENT_CONFIG)
        )
