"""The floor for the notifier: the same AWS reads and the same Slack post, with nothing but
boto3 and requests. No validation, no escaping, no retries: the least the work can cost.

    python bench/floor_notifier.py EVENT.json
"""

import json
import os
import sys

import boto3
import requests

event = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
message = json.loads(event["Records"][0]["Sns"]["Message"])
secret = boto3.client("secretsmanager").get_secret_value(
    SecretId=os.environ["SLACK_WEBHOOK_SECRET_ARN"]
)
url = json.loads(secret["SecretString"])["url"]
ssm = boto3.client("ssm")
command = ssm.list_commands(CommandId=message["commandId"])["Commands"][0]
invocations = [
    invocation
    for page in ssm.get_paginator("list_command_invocations").paginate(
        CommandId=message["commandId"], Details=True, PaginationConfig={"PageSize": 50}
    )
    for invocation in page["CommandInvocations"]
]
groups = boto3.client("autoscaling").describe_auto_scaling_groups(
    AutoScalingGroupNames=command["Targets"][0]["Values"]
)["AutoScalingGroups"]
desired = sum(group["DesiredCapacity"] for group in groups)
succeeded = sum(1 for invocation in invocations if invocation["Status"] == "Success")
requests.post(
    url, json={"text": f"{succeeded} of {desired} instances cleared"}, timeout=10
).raise_for_status()
