"""harness.large_group: the bench's large fleets, made in batches, every instance InService with
an SSM agent, as harness.aws_emulator.create_group makes a small one."""

from __future__ import annotations

import time

import boto3
import pytest
from moto.ec2.models.amis import AmiBackend

from harness import aws_emulator, large_group


def test_a_group_is_made_and_grown_in_batches_every_instance_in_service_and_managed(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of 400, a group of 1,000 made, then grown to 1,500
    monkeypatch.setattr(large_group, "BATCH", 400)
    started = time.perf_counter()
    made = large_group.create_large_group("web-big", 1000)
    grown = large_group.grow_group("web-big", 1500)
    # Then every instance is InService, tagged with the group (SendCommand's target), managed
    group = boto3.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-big"]
    )["AutoScalingGroups"][0]
    assert len(made) == 1000 and len(set(grown)) == 1500 and set(made) <= set(grown)
    assert group["DesiredCapacity"] == 1500
    assert {i["LifecycleState"] for i in group["Instances"]} == {"InService"}
    answer = boto3.client("ssm").send_command(
        Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-big"]}],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["true"]},
    )
    assert len(aws_emulator.targeted_instances(answer["Command"]["CommandId"])) == 1500
    assert all(
        aws_emulator._MANAGED[(aws_emulator.ACCOUNT_ID, aws_emulator.REGION)][i] == "Online"
        for i in grown
    )
    # And in seconds: moto's AMI lookup is asked once per AMI, then given back as it was
    assert time.perf_counter() - started < 15
    assert AmiBackend.describe_images.__name__ == "describe_images"
    assert AmiBackend.describe_images.__qualname__.startswith("AmiBackend.")
