"""The local API checks signatures as API Gateway's IAM authoriser does, before the function runs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.stack import GROUP
from local.embedded_aws import REGION
from tests.cli.pipeline import Local

ROOT = Path(__file__).resolve().parents[2]

DRY_RUN = json.dumps({"group": GROUP, "action": "clear-apcu", "dryRun": True}).encode()
MISMATCH = "The request signature we calculated does not match the signature you provided."


def _signed(
    method: str,
    url: str,
    body: bytes | None,
    credentials: dict[str, str],
    *,
    region: str = REGION,
    service: str = "execute-api",
) -> dict[str, str]:
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json"}
    )
    keys = Credentials(
        credentials["AWS_ACCESS_KEY_ID"],
        credentials["AWS_SECRET_ACCESS_KEY"],
        credentials.get("AWS_SESSION_TOKEN"),
    )
    SigV4Auth(keys, service, region).add_auth(request)
    return dict(request.headers.items())


def _send(
    method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    answer = requests.request(method, url, data=body, headers=headers, timeout=60)
    return answer.status_code, answer.json()


def test_a_signed_request_reaches_the_dispatcher(shared_local: Local) -> None:
    url = shared_local.gateway.url
    status, body = _send(
        "POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, shared_local.credentials)
    )
    assert status == 200, body
    assert body["dryRun"] is True
    event = shared_local.gateway.events[0]
    assert event["routeKey"] == "POST /flush"
    assert event["version"] == "2.0"
    assert event["requestContext"]["authorizer"]["iam"]["userId"].endswith(":pipeline")


def test_an_unsigned_request_is_refused(shared_local: Local) -> None:
    status, body = _send(
        "POST", shared_local.gateway.url, DRY_RUN, {"Content-Type": "application/json"}
    )
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert shared_local.gateway.events == []


def test_a_body_changed_after_signing_is_refused(shared_local: Local) -> None:
    url = shared_local.gateway.url
    headers = _signed("POST", url, DRY_RUN, shared_local.credentials)
    tampered = DRY_RUN.replace(b'"dryRun": true', b'"dryRun": false')
    assert tampered != DRY_RUN
    status, body = _send("POST", url, tampered, headers)
    assert status == 403
    assert body["message"].startswith(MISMATCH)
    assert shared_local.gateway.events == []
    assert shared_local.commands() == []


def test_a_path_changed_after_signing_is_refused(shared_local: Local) -> None:
    signed_for = f"{shared_local.gateway.url}/5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab"
    sent_to = f"{shared_local.gateway.url}/00000000-0000-4000-8000-000000000000"
    status, body = _send(
        "GET", sent_to, None, _signed("GET", signed_for, None, shared_local.credentials)
    )
    assert status == 403
    assert body["message"].startswith(MISMATCH)


def test_a_wrong_secret_is_refused(shared_local: Local) -> None:
    # The command line signs with a secret that is not the key's: exit 2, API Gateway's reason.
    env = shared_local.env(AWS_SECRET_ACCESS_KEY="not-the-secret-of-this-key")
    completed = shared_local.run("clear", GROUP, "--wait", env=env)
    assert completed.returncode == 2
    assert "refused (403)" in completed.stderr
    assert MISMATCH in completed.stderr
    assert shared_local.gateway.events == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"AWS_ACCESS_KEY_ID": "ASIAUNKNOWNKEY000000"},
            "The security token included in the request is invalid.",
        ),
        ({"AWS_SESSION_TOKEN": None}, "The security token included in the request is invalid."),
        (
            {"AWS_SESSION_TOKEN": "another-sessions-token"},
            "The security token included in the request is invalid.",
        ),
    ],
    ids=["unknown-key", "role-key-without-its-token", "someone-elses-token"],
)
def test_credentials_the_embedded_aws_never_issued_are_refused(
    shared_local: Local, change: dict[str, str | None], message: str
) -> None:
    credentials: dict[str, Any] = {**shared_local.credentials, **change}
    url = shared_local.gateway.url
    status, body = _send("POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, credentials))
    assert (status, body) == (403, {"message": message})


def test_a_signature_for_another_region_or_service_is_refused(shared_local: Local) -> None:
    url = shared_local.gateway.url
    for headers, expected in (
        (
            _signed("POST", url, DRY_RUN, shared_local.credentials, region="eu-west-1"),
            "valid region",
        ),
        (_signed("POST", url, DRY_RUN, shared_local.credentials, service="ssm"), "correct service"),
    ):
        status, body = _send("POST", url, DRY_RUN, headers)
        assert status == 403
        assert expected in body["message"]
    assert shared_local.gateway.events == []


@pytest.mark.parametrize(
    ("skew", "message"),
    [
        (dt.timedelta(minutes=6), "Signature expired"),
        (-dt.timedelta(minutes=6), "Signature not yet current"),
    ],
)
def test_a_signature_from_another_time_is_refused(
    shared_local: Local, skew: dt.timedelta, message: str
) -> None:
    # Given an API whose clock is six minutes off the signer's (AWS allows five),
    shared_local.front.skew = skew
    url = shared_local.gateway.url
    status, body = _send(
        "POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, shared_local.credentials)
    )
    assert status == 403
    assert body["message"].startswith(message)
    assert shared_local.gateway.events == []


def test_an_iam_users_key_signs_as_that_user(shared_local: Local) -> None:
    iam = shared_local.aws.client("iam")
    iam.create_user(UserName="release-bot")
    key = iam.create_access_key(UserName="release-bot")["AccessKey"]
    credentials = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    url = shared_local.gateway.url
    status, _ = _send("POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, credentials))
    assert status == 200
    identity = shared_local.gateway.events[0]["requestContext"]["authorizer"]["iam"]
    assert identity["userArn"] == "arn:aws:iam::123456789012:user/release-bot"
    # Once the key is deactivated, the same request is refused.
    iam.update_access_key(UserName="release-bot", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    status, _ = _send("POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, credentials))
    assert status == 403


def test_a_route_the_api_does_not_have_is_not_found(shared_local: Local) -> None:
    url = shared_local.gateway.url.removesuffix("/flush") + "/other"
    status, body = _send(
        "POST", url, DRY_RUN, _signed("POST", url, DRY_RUN, shared_local.credentials)
    )
    assert (status, body) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    ("stored", "method", "path", "body"),
    [
        ("api-clear.json", "POST", "", DRY_RUN),
        ("api-status.json", "GET", "/5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48", None),
        ("api-retry.json", "POST", "/5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48/retry", None),
    ],
)
def test_the_event_has_the_shape_of_the_stored_api_events(
    shared_local: Local, stored: str, method: str, path: str, body: bytes | None
) -> None:
    # The stored events are what API Gateway hands the function; the front end hands the same.
    expected = json.loads((ROOT / "events" / "dispatcher" / stored).read_text(encoding="utf-8"))
    url = shared_local.gateway.url + path
    _send(method, url, body, _signed(method, url, body, shared_local.credentials))
    [event] = shared_local.gateway.events
    assert set(event) == set(expected)
    context, stored_context = event["requestContext"], expected["requestContext"]
    assert set(context) == set(stored_context)
    assert set(context["http"]) == set(stored_context["http"])
    assert set(context["authorizer"]["iam"]) == set(stored_context["authorizer"]["iam"])
    assert event["routeKey"] == expected["routeKey"] == context["routeKey"]
    assert event.get("pathParameters", {}).keys() == expected.get("pathParameters", {}).keys()
