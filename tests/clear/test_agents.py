"""apcu_clear.agents: the ping status of each instance's SSM agent. SSM answers InvalidInstanceId
for a whole DescribeInstanceInformation call when one id is not a node it manages; the batch is
split until the unknown ids stand alone."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from apcu_clear.agents import NOT_REGISTERED, ONLINE, online, ping_statuses
from harness import aws_emulator
from tests.faults import Faults, Recorder, injected


@pytest.fixture
def ssm(aws: None) -> Iterator[object]:
    yield boto3.client("ssm")


def ids(count: int, start: int = 0) -> list[str]:
    return [f"i-{n:017x}" for n in range(start, start + count)]


def test_known_ids_are_read_in_one_call(ssm: object) -> None:
    known = ids(3)
    aws_emulator.register_managed_instances(known[:2])
    aws_emulator.register_managed_instances(known[2:], ping_status="ConnectionLost")

    with injected(Recorder()) as calls:
        statuses = ping_statuses(ssm, known)  # type: ignore[arg-type]

    assert statuses == {known[0]: ONLINE, known[1]: ONLINE, known[2]: "ConnectionLost"}
    assert calls.count("DescribeInstanceInformation") == 1


def test_an_unknown_id_is_not_registered_and_the_others_keep_their_state(ssm: object) -> None:
    known = ids(4)
    unknown = ids(1, start=100)[0]
    aws_emulator.register_managed_instances(known[:3])
    aws_emulator.register_managed_instances(known[3:], ping_status="Inactive")

    statuses = ping_statuses(ssm, [known[0], unknown, *known[1:]])  # type: ignore[arg-type]

    assert statuses == {
        known[0]: ONLINE,
        unknown: NOT_REGISTERED,
        known[1]: ONLINE,
        known[2]: ONLINE,
        known[3]: "Inactive",
    }
    assert list(statuses) == [known[0], unknown, *known[1:]], "in the order asked"


def test_120_ids_across_batches_with_unknown_ones_scattered(ssm: object) -> None:
    asked = ids(120)
    unknown = {asked[0], asked[49], asked[50], asked[77], asked[119]}
    lost = {asked[10], asked[60], asked[110]}
    aws_emulator.register_managed_instances([i for i in asked if i not in unknown | lost])
    aws_emulator.register_managed_instances(sorted(lost), ping_status="ConnectionLost")

    with injected(Recorder()) as calls:
        statuses = ping_statuses(ssm, asked)  # type: ignore[arg-type]

    assert {i for i, s in statuses.items() if s == NOT_REGISTERED} == unknown
    assert {i for i, s in statuses.items() if s == "ConnectionLost"} == lost
    assert sum(1 for s in statuses.values() if s == ONLINE) == 120 - len(unknown) - len(lost)
    assert online(ssm, asked) == frozenset(asked) - unknown - lost  # type: ignore[arg-type]
    # Three batches of at most 50 ids; each unknown id costs a few halvings, not a call per id.
    assert calls.count("DescribeInstanceInformation") < 60


def test_every_id_unknown_is_every_id_not_registered(ssm: object) -> None:
    asked = ids(7)

    assert ping_statuses(ssm, asked) == dict.fromkeys(asked, NOT_REGISTERED)  # type: ignore[arg-type]


def test_no_ids_ask_nothing(ssm: object) -> None:
    with injected(Recorder()) as calls:
        assert ping_statuses(ssm, []) == {}  # type: ignore[arg-type]
    assert calls.calls == []


def test_a_throttled_call_raises(ssm: object) -> None:
    asked = ids(2)
    aws_emulator.register_managed_instances(asked)

    with (
        injected(Faults(operation="DescribeInstanceInformation", occurrence=1, kind="throttle")),
        pytest.raises(ClientError, match="Throttling"),
    ):
        ping_statuses(ssm, asked)  # type: ignore[arg-type]
