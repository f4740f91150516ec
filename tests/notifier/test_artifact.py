"""The notifier's artifact (src/notifier/Makefile, as `sam build` runs it) ships the slack_sdk
app mode needs, without the parts it leaves out, and app mode posts through what ships."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.slack_web_api import BOT_TOKEN, CHANNEL, SlackWebApi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("NotifierFunction")
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(ROOT / "src" / "notifier"),
            "build-NotifierFunction",
            f"ARTIFACTS_DIR={folder}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_slack_sdk_ships_without_the_parts_the_notifier_never_imports(artifact: Path) -> None:
    sdk = artifact / "slack_sdk"
    assert (sdk / "web" / "client.py").is_file()
    for unused in ("socket_mode", "oauth", "audit_logs", "scim", "rtm", "rtm_v2", "signature"):
        assert not (sdk / unused).exists(), unused
    assert not list(sdk.rglob("async_*.py"))
    assert not (artifact / "slack").exists()


def test_the_notifier_ships_compiled_its_own_code_and_slack_sdk_but_not_requests(
    artifact: Path,
) -> None:
    # /var/task is read-only: what ships uncompiled is compiled again at every cold start.
    tag = sys.implementation.cache_tag
    for module in ("app", "apcu_notifier/handler", "apcu_clear/store", "slack_sdk/web/client"):
        folder, _, name = f"./{module}".rpartition("/")
        assert (artifact / folder / "__pycache__" / f"{name}.{tag}.pyc").is_file(), module
    # requests, idna and certifi stay as source: their bytecode would pass 1 MiB zipped.
    for package in ("requests", "idna", "certifi"):
        assert not list((artifact / package).rglob("*.pyc")), package


def test_app_mode_posts_through_the_shipped_slack_sdk(
    artifact: Path, slack_api: SlackWebApi
) -> None:
    code = f"""
import sys
sys.path[:0] = [{str(artifact)!r}]
import slack_sdk
assert slack_sdk.__file__.startswith({str(artifact)!r}), slack_sdk.__file__
from apcu_notifier.slack import RetryPolicy
from apcu_notifier.slack_web import build_web
web = build_web({slack_api.base_url!r}, "arn:secret", RetryPolicy())
posted = web.post(
    token={BOT_TOKEN!r}, channel={CHANNEL!r}, text="cleared",
    blocks=[{{"type": "section", "text": {{"type": "mrkdwn", "text": "cleared"}}}}],
    remaining=lambda: 30.0, policy=RetryPolicy(),
)
print(posted.ts)
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    (message,) = slack_api.messages
    assert message.ts == done.stdout.strip()
    assert json.dumps(message.blocks)
