"""What the dispatcher tells a caller before it clears: which InService instances SSM cannot
reach. An instance whose agent SSM never registered makes DescribeInstanceInformation refuse the
whole call (InvalidInstanceId, the emulator does as SSM does); only that instance is said to be
unmanaged, and every other keeps its own state."""

from __future__ import annotations

from harness import aws_emulator
from harness.stack import GROUP, Stack


def plan(stack: Stack) -> dict[str, object]:
    status, body = stack.api(
        "POST", "/flush", {"group": GROUP, "action": "clear-apcu", "dryRun": True}
    )
    assert status == 200, body
    plan: dict[str, object] = body["plan"]
    return plan


def test_an_unregistered_instance_is_not_managed_and_the_others_keep_their_state(
    deployed: Stack,
) -> None:
    online, lost, unknown = deployed.instances
    aws_emulator.register_managed_instances([lost], ping_status="ConnectionLost")
    aws_emulator.forget_managed_instances([unknown])

    planned = plan(deployed)

    assert planned["managedOnline"] == 1
    assert {w["instanceId"]: w["reason"] for w in planned["warnings"]} == {  # type: ignore[attr-defined]
        lost: "not-online",
        unknown: "not-managed",
    }
    assert online not in str(planned["warnings"])


def test_a_clear_is_sent_with_the_unregistered_instance_named_in_its_warnings(
    deployed: Stack,
) -> None:
    unknown = deployed.instances[1]
    aws_emulator.forget_managed_instances([unknown])

    status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})

    assert status == 202
    assert body["expect"]["managedOnline"] == 2
    assert [(w["reason"], w["instanceId"]) for w in body["warnings"]] == [("not-managed", unknown)]


def test_a_group_whose_agents_are_all_unregistered_is_still_planned(deployed: Stack) -> None:
    aws_emulator.forget_managed_instances(deployed.instances)

    planned = plan(deployed)

    assert planned["managedOnline"] == 0
    assert [w["reason"] for w in planned["warnings"]] == ["not-managed"] * 3  # type: ignore[attr-defined]
