"""What a clear of this group will reach: the group's size, its InService instances, and which
of them SSM cannot reach now. SSM itself would report "Success" for a command that reached none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apcu_clear.agents import NOT_REGISTERED, ONLINE, ping_statuses
from apcu_clear.errors import Conflict, NotFound

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_ssm import SSMClient


@dataclass(frozen=True)
class PlanWarning:
    reason: str
    message: str
    instance_id: str | None = None


@dataclass(frozen=True)
class Plan:
    group: str
    desired_capacity: int
    in_service: tuple[str, ...]
    pending: int
    terminating: int
    managed_online: int
    warnings: tuple[PlanWarning, ...]


def plan_flush(group: str, autoscaling: AutoScalingClient, ssm: SSMClient) -> Plan:
    """Read the group and the SSM state of its InService instances; refuse 404 or 409."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ]
    if not groups:
        raise NotFound(f"Auto Scaling group {group} does not exist", field="group", rule="exists")
    found = groups[0]
    states = [(i["InstanceId"], i["LifecycleState"]) for i in found.get("Instances", [])]
    in_service = tuple(sorted(i for i, state in states if state == "InService"))
    pending = sum(1 for _, state in states if state.startswith("Pending"))
    terminating = sum(1 for _, state in states if state.startswith("Terminating"))
    desired = found["DesiredCapacity"]
    if not in_service:
        raise Conflict(
            f"Auto Scaling group {group} has no InService instance "
            f"(desired {desired}, pending {pending}, terminating {terminating}); nothing to clear",
            field="group",
            rule="in-service",
        )
    ping = ping_statuses(ssm, in_service)
    warnings = [_scaling_warning(desired, len(in_service), pending, terminating)]
    warnings += [_instance_warning(i, ping.get(i)) for i in in_service]
    return Plan(
        group=group,
        desired_capacity=desired,
        in_service=in_service,
        pending=pending,
        terminating=terminating,
        managed_online=sum(1 for i in in_service if ping.get(i) == ONLINE),
        warnings=tuple(w for w in warnings if w is not None),
    )


def _instance_warning(instance_id: str, ping_status: str | None) -> PlanWarning | None:
    if ping_status in (None, NOT_REGISTERED):
        return PlanWarning(
            "not-managed",
            f"{instance_id} is InService but not a managed node (no SSM agent registered); "
            "it will not be cleared",
            instance_id,
        )
    if ping_status != ONLINE:
        return PlanWarning(
            "not-online",
            f"{instance_id} is InService but its SSM agent is {ping_status}; "
            "its invocation will likely end DeliveryTimedOut",
            instance_id,
        )
    return None


def _scaling_warning(
    desired: int, in_service: int, pending: int, terminating: int
) -> PlanWarning | None:
    # Pending instances already count toward DesiredCapacity (the size the group is working
    # towards) but are not InService yet, and tag targets are resolved when SSM sends; an
    # instance launched later starts with an empty cache anyway.
    if desired == in_service and not pending and not terminating:
        return None
    return PlanWarning(
        "scaling",
        f"the group is scaling: desired {desired}, InService {in_service}, "
        f"pending {pending}, terminating {terminating}",
    )
