"""The dispatcher's artifact as src/dispatcher/Makefile builds it (what `sam build` runs): the
parts of slack_sdk it leaves out are parts the Slack route never imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISPATCHER = ROOT / "src" / "dispatcher"

# Run from the artifact alone (plus the runtime's boto3 and the layer's Powertools, which the
# test's interpreter has): every module the Slack route loads must come from the artifact.
PRESS_PATH = """
import json, sys
from apcu_clear.slack_app import AppSecret
from apcu_dispatcher import slack_actions, slack_client
app = slack_client._clients(
    AppSecret(bot_token="xoxb-0000000000-apcufleetflush",
              signing_secret="8f742231b10e8888abcd99aaabbb85a5", channel="C0APCUFLUSH"),
    "http://127.0.0.1:9/api/",
)
blocks = slack_actions.replace_button(
    [{"type": "actions", "block_id": "apcu_retry", "elements": []}], "asked"
)
import slack_sdk
print(json.dumps({
    "sdk": slack_sdk.__file__,
    "valid": app.verifier.is_valid(b"x", "1", "v0=0") is False,
    "blocks": [b["type"] for b in blocks],
    "loaded": sorted(m for m in sys.modules if m.startswith("slack")),
}))
"""


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("DispatcherFunction")
    subprocess.run(
        [
            "make",
            "--silent",
            "-C",
            str(DISPATCHER),
            "build-DispatcherFunction",
            f"ARTIFACTS_DIR={folder}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_the_slack_route_runs_from_the_trimmed_slack_sdk(artifact: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRESS_PATH],
        cwd=artifact,
        env={"PYTHONPATH": str(artifact), "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout.splitlines()[-1])
    assert Path(seen["sdk"]).is_relative_to(artifact)
    assert seen["valid"] is True
    assert seen["blocks"] == ["context"]
    assert "slack_sdk.web.client" in seen["loaded"]


def test_the_parts_the_dispatcher_never_imports_are_left_out(artifact: Path) -> None:
    sdk = artifact / "slack_sdk"
    for unused in ("oauth", "socket_mode", "rtm", "scim", "audit_logs", "web/async_client.py"):
        assert not (sdk / unused).exists(), unused
    assert not (artifact / "slack").exists()
    # What is shipped is compiled, as the dispatcher's own modules are.
    assert list((sdk / "web" / "__pycache__").glob("client.*.pyc"))
    # And its licence travels with it.
    assert list(artifact.glob("slack_sdk-*.dist-info/**/LICENSE*"))
