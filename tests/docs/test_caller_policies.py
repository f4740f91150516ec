"""The caller policies the docs hand out allow every route `apcu-flush` calls and every route
the stack has: a caller given one of them never meets a 403 halfway through `--wait`."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from botocore.credentials import ReadOnlyCredentials
from pytest_httpserver import HTTPServer

from apcu_flush.api import FlushApi
from harness import cfn_template

ROOT = Path(__file__).resolve().parents[2]
COMMAND_ID = "0a1b2c3d-0000-4000-8000-000000000001"
REGION, ACCOUNT, API_ID = "ap-northeast-1", "123456789012", "a1b2c3d4e5"
PLACEHOLDERS = {
    "<region>": REGION,
    "REGION": REGION,
    "<account>": ACCOUNT,
    "ACCOUNT": ACCOUNT,
    "<api-id>": API_ID,
    "API_ID": API_ID,
}


def _concrete(resource: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        resource = resource.replace(placeholder, value)
    return resource


def _invoke_resources(text: str) -> list[str]:
    return [_concrete(r) for r in re.findall(r"arn:aws:execute-api:[^\s\"',]+", text)]


def _policies() -> dict[str, list[str]]:
    """Each place that tells a caller what to allow, and the execute-api resources it names."""
    deploy = (ROOT / "docs/deploy.md").read_text(encoding="utf-8")
    section = deploy.split("## Who may call the API", 1)[1].split("\n## ", 1)[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pipeline = readme.split("### From a pipeline", 1)[1].split("\n## ", 1)[0]
    gate = (ROOT / "docs/github-actions-deploy-gate.yml").read_text(encoding="utf-8")
    found = {
        "docs/deploy.md, Who may call the API": _invoke_resources(section),
        "README.md, From a pipeline": _invoke_resources(pipeline),
        "docs/github-actions-deploy-gate.yml": _invoke_resources(gate.split("\nname:", 1)[0]),
    }
    for where, resources in found.items():
        assert resources, f"{where} names no execute-api resource"
    return found


def _arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{method}{path}"


def _cli_calls(httpserver: HTTPServer) -> list[str]:
    """The routes `apcu-flush clear --wait` and `apcu-flush retry` call, as the CLI sends them."""
    httpserver.expect_request("/flush", method="POST").respond_with_json(
        {"commandId": COMMAND_ID}, status=202
    )
    httpserver.expect_request(f"/flush/{COMMAND_ID}", method="GET").respond_with_json(
        {"commandId": COMMAND_ID, "state": "done"}
    )
    httpserver.expect_request(f"/flush/{COMMAND_ID}/retry", method="POST").respond_with_json(
        {"commandIds": [COMMAND_ID]}, status=202
    )
    api = FlushApi(
        httpserver.url_for("/flush"),
        credentials=lambda: ReadOnlyCredentials("AKIDEXAMPLE", "secret", None),
        region=REGION,
    )
    api.clear({"group": "web-prod"})
    api.status(COMMAND_ID)
    api.retry(COMMAND_ID)
    calls = [_arn(request.method, request.path) for request, _ in httpserver.log]
    assert len(calls) == 3
    return calls


def _template_routes() -> list[str]:
    routes = []
    for resource in cfn_template.load()["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            # execute-api:Invoke means nothing to a route without IAM authorisation (the Slack
            # app's, which Slack signs itself): no caller policy needs it.
            auth = event.get("Properties", {}).get("Auth", {}).get("Authorizer")
            if event.get("Type") == "HttpApi" and auth != "NONE":
                path = re.sub(r"\{[^}]+\}", COMMAND_ID, event["Properties"]["Path"])
                routes.append(_arn(event["Properties"]["Method"], path))
    assert routes
    return routes


@pytest.mark.parametrize("where", sorted(_policies()))
def test_every_route_the_cli_calls_is_allowed(where: str, httpserver: HTTPServer) -> None:
    allowed = _policies()[where]
    refused = [c for c in _cli_calls(httpserver) if not any(fnmatchcase(c, r) for r in allowed)]
    assert not refused, f"{where} lets a caller make no {refused}"


@pytest.mark.parametrize("where", sorted(_policies()))
def test_every_route_of_the_stack_is_allowed(where: str) -> None:
    allowed = _policies()[where]
    refused = [r for r in _template_routes() if not any(fnmatchcase(r, a) for a in allowed)]
    assert not refused, f"{where} lets a caller make no {refused}"


def test_the_json_policies_are_valid_json() -> None:
    deploy = (ROOT / "docs/deploy.md").read_text(encoding="utf-8")
    section = deploy.split("## Who may call the API", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```json\n(.*?)```", section, re.S):
        json.loads(block)
