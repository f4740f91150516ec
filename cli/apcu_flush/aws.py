"""Credentials, region and the stack's ApiUrl, from botocore's standard chain."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from apcu_flush.exits import CliError, Exit

API_URL_ENV = "APCU_FLUSH_API_URL"
API_URL_OUTPUT = "ApiUrl"
REGION_FIX = "pass --region REGION, set AWS_REGION, or give the profile a region"
# An HTTP API's default endpoint names its region: https://{api-id}.execute-api.{region}.amazonaws.com
_EXECUTE_API_HOST = re.compile(
    r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$"
)


class _CloudFormation(Protocol):
    def describe_stacks(self, *, StackName: str) -> Mapping[str, Any]: ...


def open_session(
    profile: str | None, region: str | None, env: Mapping[str, str]
) -> botocore.session.Session:
    try:
        session = botocore.session.Session(profile=profile)
        # botocore reads AWS_DEFAULT_REGION; the other SDKs (and CI runners) set AWS_REGION.
        region = region or (
            None if session.get_config_variable("region") else env.get("AWS_REGION")
        )
        if region:
            session.set_config_variable("region", region)
        # Reading the profile here makes an unknown --profile fail before anything is sent.
        session.get_scoped_config()
    except BotoCoreError as error:
        raise _aws_error("AWS configuration", error) from error
    return session


def _aws_error(what: str, error: BotoCoreError) -> CliError:
    """botocore's error as the command line's. A missing region is the caller's to fix, like a
    missing URL (exit 2, naming the option and the variable); botocore's own words for it
    ("You must specify a region.") name neither. Anything else is credentials, network or
    configuration: 4."""
    if isinstance(error, NoRegionError):
        return CliError(Exit.REFUSED, f"no AWS region for {what}: {REGION_FIX}")
    return CliError(Exit.FAILED, f"{what}: {error}")


def credentials(session: botocore.session.Session) -> Credentials:
    """The caller's credentials; they are also who the dispatcher names as the requester."""
    try:
        found = session.get_credentials()
    except BotoCoreError as error:
        raise _aws_error("AWS credentials", error) from error
    if found is None:
        raise CliError(
            Exit.FAILED,
            "no AWS credentials found: set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where an instance or task role provides them",
        )
    return found


def frozen(found: Credentials) -> ReadOnlyCredentials:
    """A consistent snapshot, refreshed by botocore when a role's credentials are about to expire."""
    try:
        return found.get_frozen_credentials()
    except BotoCoreError as error:
        raise _aws_error("AWS credentials", error) from error


def stack_region(session: botocore.session.Session, stack: str) -> str:
    """The region --stack is read in: --region's, AWS_REGION's or the profile's."""
    region = session.get_config_variable("region")
    if not isinstance(region, str) or not region:
        raise CliError(
            Exit.REFUSED,
            f"no AWS region to read stack {stack}'s {API_URL_OUTPUT} output in: {REGION_FIX}",
        )
    return region


def signing_region(api_url: str, session: botocore.session.Session) -> str:
    """The API's own region when its URL names one, else the configured region."""
    host = urlsplit(api_url).hostname or ""
    if match := _EXECUTE_API_HOST.match(host):
        return match["region"]
    region = session.get_config_variable("region")
    if not isinstance(region, str) or not region:
        # The caller's to fix, as much as the URL: retrying later would fail the same way.
        raise CliError(
            Exit.REFUSED,
            f"no AWS region to sign for: the API URL {api_url} names none (an "
            f"https://API_ID.execute-api.REGION.amazonaws.com URL does); {REGION_FIX}",
        )
    return region


def given_api_url(*, explicit: str | None, stack: str | None, env: Mapping[str, str]) -> str | None:
    """--api-url, else None when it is --stack's ApiUrl output (read with credentials, by
    stack_api_url), else APCU_FLUSH_API_URL. Needs no AWS session, so that a call without any
    of the three is told so before anything about credentials or regions."""
    if explicit:
        return explicit
    if stack:
        return None
    if env.get(API_URL_ENV):
        return env[API_URL_ENV]
    raise CliError(
        Exit.REFUSED,
        f"no API URL: pass --api-url URL or --stack NAME (its {API_URL_OUTPUT} output), "
        f"or set {API_URL_ENV}",
    )


def stack_api_url(session: botocore.session.Session, stack: str) -> str:
    try:
        client = cast(_CloudFormation, session.create_client("cloudformation"))
        stacks = client.describe_stacks(StackName=stack).get("Stacks", [])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        # CloudFormation answers ValidationError for a stack that does not exist.
        refused = code == "ValidationError"
        raise CliError(
            Exit.REFUSED if refused else Exit.FAILED, f"stack {stack}: {message}"
        ) from error
    except BotoCoreError as error:
        raise _aws_error(f"stack {stack}", error) from error
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == API_URL_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    raise CliError(Exit.REFUSED, f"stack {stack} has no {API_URL_OUTPUT} output")
