"""What a clear of this group will reach: the group's size, its InService instances, and which
of them SSM cannot reach now. SSM itself would report "Success" for a command that reached none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apcu_clear.agents import NOT_REGISTERED, ONLINE, ping_statuses
from apcu_clear.errors import Conflict, NotFound

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_ssm import SSMClient


@dataclass(frozen=True)
class Plan:
    group: str
    desired_capacity: int
    in_service: tuple[str, ...]
    pending: int
    terminating: int
    managed_online: int
    # As answered: each a reason, a message and, for one instance, its id.
    warnings: tuple[dict[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "desiredCapacity": self.desired_capacity,
            "inService": list(self.in_service),
            "pending": self.pending,
            "terminating": self.terminating,
            "managedOnline": self.managed_online,
            "warnings": list(self.warnings),
        }


def plan_flush(group: str, autoscaling: AutoScalingClient, ssm: SSMClient) -> Plan:
    """Read the group and the SSM state of its InService instances; refused when the group does
    not exist or has no InService instance."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    if not groups["AutoScalingGroups"]:
        raise NotFound(f"Auto Scaling group {group} does not exist", field="group", rule="exists")
    found = groups["AutoScalingGroups"][0]
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
    warnings = []
    # Pending instances already count toward DesiredCapacity (the size the group is working
    # towards) but are not InService yet, and tag targets are resolved when SSM sends; an
    # instance launched later starts with an empty cache anyway.
    if desired != len(in_service) or pending or terminating:
        warnings.append(
            {
                "reason": "scaling",
                "message": f"the group is scaling: desired {desired}, InService "
                f"{len(in_service)}, pending {pending}, terminating {terminating}",
            }
        )
    for instance_id in in_service:
        status = ping.get(instance_id, NOT_REGISTERED)
        if status == NOT_REGISTERED:
            warnings.append(
                {
                    "reason": "not-managed",
                    "message": f"{instance_id} is InService but not a managed node (no SSM agent "
                    "registered); it will not be cleared",
                    "instanceId": instance_id,
                }
            )
        elif status != ONLINE:
            warnings.append(
                {
                    "reason": "not-online",
                    "message": f"{instance_id} is InService but its SSM agent is {status}; "
                    "its invocation will likely end DeliveryTimedOut",
                    "instanceId": instance_id,
                }
            )
    return Plan(
        group,
        desired,
        in_service,
        pending,
        terminating,
        sum(1 for i in in_service if ping.get(i) == ONLINE),
        tuple(warnings),
    )
