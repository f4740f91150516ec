"""The commands table in moto, and the record the dispatcher writes after SendCommand."""

from __future__ import annotations

from typing import Any

import boto3

from apcu_clear import store
from apcu_clear.item import CommandRecord
from harness import aws_emulator as emu
from tests.notifier.conftest import GROUP, World

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C"
REQUESTED = "2026-03-02T09:15:03Z"


def enable(world: World) -> World:
    emu.create_commands_table(TABLE)
    world.table = TABLE
    return world


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=emu.REGION)


def dispatched(command_id: str, origin: str = "api", clear_claim: str = "") -> None:
    store.put_sent(
        dynamodb(),
        TABLE,
        CommandRecord(
            command_id=command_id,
            group=GROUP,
            prefix="",
            requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
            comment="release 2026.03.02",
            origin=origin,
            requested_at=REQUESTED,
            expires_at="2026-03-02T09:18:03Z",
            clear_claim=clear_claim,
        ),
    )


def item(command_id: str) -> dict[str, Any]:
    answer = dynamodb().get_item(TableName=TABLE, Key={"commandId": {"S": command_id}})
    return dict(answer.get("Item", {}))
