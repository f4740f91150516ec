"""Auto Scaling groups of thousands of instances on moto, in seconds rather than minutes.

moto builds each instance it launches with a DescribeImages of the launch template's AMI over
its whole catalogue (some 1,300 images, each checked against the filter): 20 ms an instance,
so a 10,000-instance group took more than three minutes in one CreateAutoScalingGroup call,
longer than any client waits on 2 cores. While a large group is made, that lookup is asked
once per AMI: the same answer, 4 ms a thousand instances. The group also grows in batches
(UpdateAutoScalingGroup), so that no single call is long.

    ids = create_large_group("web-big", 10_000, endpoint_url=aws.endpoint)
    ids = grow_group("web-big", 20_000, endpoint_url=aws.endpoint)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.ec2.models.amis import AmiBackend

from harness import aws_emulator
from harness.aws_emulator import REGION

# Instances launched per call.
BATCH = 2500


@contextmanager
def one_image_lookup() -> Iterator[None]:
    """DescribeImages by image id answered once per backend and AMI while this lasts."""
    original = AmiBackend.describe_images
    seen: dict[tuple[int, str], Any] = {}

    def describe(
        self: AmiBackend,
        ami_ids: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        exec_users: list[str] | None = None,
        owners: list[str] | None = None,
    ) -> Any:
        if ami_ids or exec_users or owners or not filters or set(filters) != {"image-id"}:
            return original(self, ami_ids, filters, exec_users, owners)
        key = (id(self), str(filters["image-id"]))
        if key not in seen:
            seen[key] = original(self, filters=filters)
        return seen[key]

    AmiBackend.describe_images = describe  # type: ignore[method-assign]
    try:
        yield
    finally:
        AmiBackend.describe_images = original  # type: ignore[method-assign]


def create_large_group(
    name: str, size: int, *, region: str = REGION, endpoint_url: str | None = None
) -> list[str]:
    """A group of `size` InService instances with registered SSM agents
    (aws_emulator.create_group), made in batches."""
    with one_image_lookup():
        aws_emulator.create_group(name, min(size, BATCH), region=region, endpoint_url=endpoint_url)
    return grow_group(name, size, region=region, endpoint_url=endpoint_url)


def grow_group(
    name: str, size: int, *, region: str = REGION, endpoint_url: str | None = None
) -> list[str]:
    """Launch instances into the group, a batch at a time, until it has `size`; their ids."""
    asg = boto3.client("autoscaling", region_name=region, endpoint_url=endpoint_url)
    have = len(aws_emulator.group_instances(name, region=region))
    with one_image_lookup():
        while have < size:
            have = min(size, have + BATCH)
            asg.update_auto_scaling_group(
                AutoScalingGroupName=name, MaxSize=size * 2, DesiredCapacity=have
            )
    ids = aws_emulator.group_instances(name, region=region)
    aws_emulator.register_managed_instances(ids, region=region)
    return ids
