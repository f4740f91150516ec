"""Preflight against moto and the emulator: the group, its InService instances, their agents."""

from __future__ import annotations

from typing import Any

import pytest

from apcu_dispatcher.clients import Clients
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.preflight import PlanWarning, plan_flush
from harness import aws_emulator


def test_healthy_group(clients: Clients, web_prod: list[str]) -> None:
    plan = plan_flush("web-prod", clients.autoscaling, clients.ssm)
    assert plan.group == "web-prod"
    assert (plan.desired_capacity, plan.in_service, plan.managed_online) == (3, tuple(web_prod), 3)
    assert (plan.pending, plan.terminating, plan.warnings) == (0, 0, ())


def test_missing_group_is_404(clients: Clients, web_prod: list[str]) -> None:
    with pytest.raises(Refusal) as caught:
        plan_flush("web-prod-old", clients.autoscaling, clients.ssm)
    assert (caught.value.status, caught.value.field, caught.value.rule) == (404, "group", "exists")
    assert "web-prod-old does not exist" in caught.value.message


def test_group_with_only_pending_instances_is_409(clients: Clients, web_prod: list[str]) -> None:
    # Given a group whose instances are all still launching
    aws_emulator.set_lifecycle("web-prod", web_prod, "Pending")

    with pytest.raises(Refusal) as caught:
        plan_flush("web-prod", clients.autoscaling, clients.ssm)

    assert (caught.value.status, caught.value.rule) == (409, "in-service")
    assert "no InService instance" in caught.value.message
    assert "pending 3" in caught.value.message


def test_empty_group_is_409(clients: Clients, aws: None) -> None:
    aws_emulator.create_group("web-staging", 0)
    with pytest.raises(Refusal) as caught:
        plan_flush("web-staging", clients.autoscaling, clients.ssm)
    assert caught.value.status == 409


def test_unmanaged_instance_is_named(clients: Clients, web_prod: list[str]) -> None:
    # Given one instance whose SSM agent never registered
    aws_emulator.forget_managed_instances(web_prod[:1])

    plan = plan_flush("web-prod", clients.autoscaling, clients.ssm)

    assert plan.managed_online == 2
    assert [(w.reason, w.instance_id) for w in plan.warnings] == [("not-managed", web_prod[0])]
    assert web_prod[0] in plan.warnings[0].message


def test_instance_whose_agent_lost_connection_is_named(
    clients: Clients, web_prod: list[str]
) -> None:
    aws_emulator.register_managed_instances(web_prod[1:2], ping_status="ConnectionLost")

    plan = plan_flush("web-prod", clients.autoscaling, clients.ssm)

    assert plan.managed_online == 2
    assert [(w.reason, w.instance_id) for w in plan.warnings] == [("not-online", web_prod[1])]
    assert "ConnectionLost" in plan.warnings[0].message


def test_scaling_group_is_counted_and_warned(clients: Clients, web_prod: list[str]) -> None:
    # Given one instance launching and one leaving
    aws_emulator.set_lifecycle("web-prod", web_prod[:1], "Pending:Wait")
    aws_emulator.set_lifecycle("web-prod", web_prod[1:2], "Terminating")

    plan = plan_flush("web-prod", clients.autoscaling, clients.ssm)

    assert (plan.in_service, plan.pending, plan.terminating) == ((web_prod[2],), 1, 1)
    assert plan.warnings == (
        PlanWarning(
            "scaling", "the group is scaling: desired 3, InService 1, pending 1, terminating 1"
        ),
    )


def test_large_group_is_read_in_pages_within_the_model_limits(clients: Clients, aws: None) -> None:
    # Given 230 InService instances, 7 of them not managed
    ids = sorted(aws_emulator.create_group("web-big", 230))
    aws_emulator.forget_managed_instances(ids[100:107])
    calls: list[dict[str, Any]] = []
    clients.ssm.meta.events.register(
        "before-parameter-build.ssm.DescribeInstanceInformation",
        lambda params, **_: calls.append(params),
    )

    plan = plan_flush("web-big", clients.autoscaling, clients.ssm)

    # Then each call asks for at most 50 ids (one full page) and every instance is judged
    assert len(calls) == 5
    assert all(len(c["Filters"][0]["Values"]) <= 50 and c["MaxResults"] == 50 for c in calls)
    assert plan.managed_online == 223
    assert [w.instance_id for w in plan.warnings] == ids[100:107]
