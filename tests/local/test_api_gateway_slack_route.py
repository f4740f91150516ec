"""The local HTTP API's Slack route: no SigV4 (Slack cannot sign it), and a form body handed
over base64-encoded, as HTTP API does for any body that is not text or JSON."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from local.api_gateway import SLACK_ACTIONS, ApiGateway

BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"


def _post(url: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_slack_press_reaches_the_function_unsigned_with_its_form_body_base64() -> None:
    seen: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "body": ""}

    with ApiGateway(invoke, region="us-east-1") as api:
        base = api.url.removesuffix("/flush")
        assert _post(base + "/slack/actions", BODY, "application/x-www-form-urlencoded") == 200
        # Every other route still wants SigV4.
        assert _post(api.url, b"{}", "application/json") == 403
    [event] = seen
    assert event["routeKey"] == SLACK_ACTIONS
    assert "authorizer" not in event["requestContext"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == BODY


@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=utf-8"])
def test_text_and_json_bodies_arrive_as_text(content_type: str) -> None:
    seen: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "body": ""}

    with ApiGateway(invoke, region="us-east-1") as api:
        body = json.dumps({"a": 1}).encode()
        assert _post(api.url.removesuffix("/flush") + "/slack/actions", body, content_type) == 200
    assert seen[0]["isBase64Encoded"] is False and seen[0]["body"] == '{"a": 1}'


def test_a_function_that_raises_gets_api_gateways_500() -> None:
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the dispatcher failed")

    with ApiGateway(invoke, region="us-east-1") as api:
        base = api.url.removesuffix("/flush")
        assert _post(base + "/slack/actions", BODY, "application/x-www-form-urlencoded") == 500
