"""moto's server on a free 127.0.0.1 port, extended by harness/aws_emulator, and seeded
with what the stack would have created: a group, a topic, a secret, the SSM document, the
commands table and the watchdog's schedule group, role and dead-letter queue.
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
# moto's catalogue of public AMIs: nothing here reads an AMI, and with it loaded every
# instance launched is matched against each of its ~1,300 images (11 s per 1,000 instances),
# so the bench could not even seed a group of 10,000 (moto/settings.py).
MOTO_SETTINGS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


@dataclass(frozen=True)
class Stack:
    """What `sam deploy` would have made, as the functions see it through their environment."""

    group: str
    instance_ids: list[str]
    topic_arn: str
    role_arn: str
    document_name: str
    secret_arn: str
    commands_table: str
    watchdog_group: str
    watchdog_role_arn: str
    watchdog_dead_letter_arn: str
    # Nothing runs at this ARN: the local run reads the schedule and invokes the notifier itself.
    notifier_arn: str


class EmbeddedAws:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._session = boto3.session.Session(region_name=REGION)
        self._clients: dict[str, Any] = {}

    def __enter__(self) -> EmbeddedAws:
        # moto's server logs every request through werkzeug; the run prints its own steps.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # Read by moto when it builds a backend, which is at the first request to the server.
        os.environ.update(MOTO_SETTINGS)
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
        commands_table = "apcu-fleet-flush-commands"
        aws_emulator.create_commands_table(commands_table, endpoint_url=self.endpoint)
        watchdog_group = "apcu-fleet-flush-watchdog"
        self.client("scheduler").create_schedule_group(Name=watchdog_group)
        watchdog_role_arn = self.client("iam").create_role(
            RoleName="apcu-fleet-flush-watchdog",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        queue_url = self.client("sqs").create_queue(QueueName="apcu-fleet-flush-watchdog-dlq")[
            "QueueUrl"
        ]
        dead_letter_arn = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        notifier_arn = (
            f"arn:aws:lambda:{REGION}:{aws_emulator.ACCOUNT_ID}:function:apcu-fleet-flush-notifier"
        )
        return Stack(
            group=group,
            instance_ids=instance_ids,
            topic_arn=topic_arn,
            role_arn=role_arn,
            document_name=document_name,
            secret_arn=secret_arn,
            commands_table=commands_table,
            watchdog_group=watchdog_group,
            watchdog_role_arn=watchdog_role_arn,
            watchdog_dead_letter_arn=dead_letter_arn,
            notifier_arn=notifier_arn,
        )
