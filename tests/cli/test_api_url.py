"""Where apcu-flush sends its requests, and for which region it signs them."""

from __future__ import annotations

import botocore.session
import pytest

from apcu_flush.api import flush_url
from apcu_flush.aws import signing_region
from apcu_flush.exits import CliError, Exit

API = "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com"


@pytest.mark.parametrize("given", [f"{API}/flush", f"{API}/flush/", API, f"{API}/"])
def test_the_stacks_output_or_the_apis_base_url_both_lead_to_post_flush(given: str) -> None:
    assert flush_url(given) == f"{API}/flush"


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(CliError) as raised:
        flush_url("file:///etc/passwd")
    assert raised.value.exit is Exit.REFUSED


def test_requests_are_signed_for_the_region_the_api_lives_in() -> None:
    session = botocore.session.Session()
    session.set_config_variable("region", "us-east-1")
    assert signing_region(f"{API}/flush", session) == "ap-northeast-1"
    assert signing_region("http://127.0.0.1:8080/flush", session) == "us-east-1"
