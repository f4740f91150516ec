"""The pipeline example in docs/ is a workflow GitHub would run, with a valid apcu-flush call."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from apcu_flush.cli import parser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "github-actions-deploy-gate.yml"


def _job() -> dict[str, Any]:
    workflow = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    assert len(jobs) == 1
    job: dict[str, Any] = next(iter(jobs.values()))
    return job


def test_the_example_takes_credentials_through_oidc() -> None:
    job = _job()
    assert job["permissions"]["id-token"] == "write"
    credentials = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert len(credentials) == 1
    assert credentials[0]["with"]["role-to-assume"]
    assert "aws-access-key-id" not in credentials[0]["with"], "no stored keys"


def test_the_example_deploys_then_waits_for_the_verdict() -> None:
    steps = [s.get("run", "") for s in _job()["steps"]]
    deploy = next(i for i, run in enumerate(steps) if "deploy" in run and "apcu-flush" not in run)
    gate = next(i for i, run in enumerate(steps) if run.startswith("apcu-flush "))
    assert deploy < gate, "the cache is cleared after the release is in place"
    # The command line as written parses with the real apcu-flush.
    words = shlex.split(re.sub(r"\$\{?[A-Z_:0-9]+\}?", "value", steps[gate]))
    args = parser().parse_args(words[1:])
    assert (args.command, args.wait, args.stack) == ("clear", True, "value")


def test_the_readme_policy_allows_exactly_the_three_routes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### From a pipeline") :]
    policy = json.loads(
        section[section.index("```json") + 7 : section.index("```", section.index("```json") + 7)]
    )
    invoke = [s for s in policy["Statement"] if s["Action"] == "execute-api:Invoke"]
    assert [s["Resource"] for s in invoke] == [
        [
            "arn:aws:execute-api:REGION:ACCOUNT:API_ID/$default/POST/flush",
            "arn:aws:execute-api:REGION:ACCOUNT:API_ID/$default/GET/flush/*",
            "arn:aws:execute-api:REGION:ACCOUNT:API_ID/$default/POST/flush/*/retry",
        ]
    ]
