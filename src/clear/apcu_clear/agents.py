"""Which instances' SSM agents can take a command now (DescribeInstanceInformation): the
dispatcher's preflight warns about the others, and a clear retries only those pinging Online."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from apcu_clear.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

ONLINE = "Online"
# No agent registered with SSM for the id (a state of ours: SSM lists no such node).
NOT_REGISTERED = "NotRegistered"
# DescribeInstanceInformation: at most 50 results a page (botocore's SSM model).
_IDS_PER_CALL = 50
_UNKNOWN_ID_ERRORS = frozenset({"InvalidInstanceId", "InvalidInstanceInformationFilterValue"})


def ping_statuses(ssm: SSMClient, instance_ids: Sequence[str]) -> dict[str, str]:
    """PingStatus by instance id, NOT_REGISTERED for an id SSM does not manage."""
    statuses: dict[str, str] = {}
    for start in range(0, len(instance_ids), _IDS_PER_CALL):
        _read(ssm, list(instance_ids[start : start + _IDS_PER_CALL]), statuses)
    return {i: statuses.get(i, NOT_REGISTERED) for i in instance_ids}


def online(ssm: SSMClient, instance_ids: Sequence[str]) -> frozenset[str]:
    statuses = ping_statuses(ssm, instance_ids)
    return frozenset(i for i, status in statuses.items() if status == ONLINE)


def _read(ssm: SSMClient, batch: list[str], statuses: dict[str, str]) -> None:
    # An id SSM has never registered fails the whole call with InvalidInstanceId, without saying
    # which: the batch is split until the unknown ids stand alone, the others keep their state.
    try:
        pages = ssm.get_paginator("describe_instance_information").paginate(
            Filters=[{"Key": "InstanceIds", "Values": batch}],
            PaginationConfig={"PageSize": _IDS_PER_CALL},
        )
        listed = pages.search("InstanceInformationList[]")
        statuses.update((info["InstanceId"], info.get("PingStatus", "Unknown")) for info in listed)
    except ClientError as error:
        if error_code(error) not in _UNKNOWN_ID_ERRORS:
            raise
        if len(batch) > 1:
            _read(ssm, batch[: len(batch) // 2], statuses)
            _read(ssm, batch[len(batch) // 2 :], statuses)
