"""moto's server on a free 127.0.0.1 port, extended by harness/aws_emulator, and seeded
with what the stack would have created: a group, a topic, a secret, the SSM document and the
idempotency table.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3
import requests
import yaml
from moto.server import ThreadedMotoServer

from harness import aws_emulator, cfn_template

REGION = aws_emulator.REGION
# moto accepts any key; these make sure nothing could ever sign for a real account.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


@dataclass(frozen=True)
class Stack:
    """What `sam deploy` would have made, as the functions see it through their environment."""

    group: str
    instance_ids: list[str]
    topic_arn: str
    role_arn: str
    document_name: str
    secret_arn: str
    table_name: str


class EmbeddedAws:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._session = boto3.session.Session(region_name=REGION)
        self._clients: dict[str, Any] = {}

    def __enter__(self) -> EmbeddedAws:
        # moto's server logs every request through werkzeug; the run prints its own steps.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        os.environ.update(CREDENTIALS)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """Environment for a function process: AWS_ENDPOINT_URL is the only thing that is local."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
        return self._clients[service]

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        aws_emulator.reset()

    def deploy(self, *, group: str, size: int, webhook_url: str) -> Stack:
        instance_ids = aws_emulator.create_group(group, size, endpoint_url=self.endpoint)
        topic_arn = self.client("sns").create_topic(Name="apcu-fleet-flush-notifications")[
            "TopicArn"
        ]
        role_arn = self.client("iam").create_role(
            RoleName="apcu-fleet-flush-notification",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ssm.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        document_name = "apcu-fleet-flush-FlushDocument-local"
        self.client("ssm").create_document(
            Name=document_name,
            DocumentType="Command",
            DocumentFormat="YAML",
            Content=yaml.safe_dump(cfn_template.flush_document(), sort_keys=False),
        )
        secret_arn = self.client("secretsmanager").create_secret(
            Name="apcu-fleet-flush/slack-webhook", SecretString=json.dumps({"url": webhook_url})
        )["ARN"]
        # The key schema Powertools' DynamoDBPersistenceLayer expects by default.
        table_name = "apcu-fleet-flush-idempotency"
        self.client("dynamodb").create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return Stack(
            group=group,
            instance_ids=instance_ids,
            topic_arn=topic_arn,
            role_arn=role_arn,
            document_name=document_name,
            secret_arn=secret_arn,
            table_name=table_name,
        )
