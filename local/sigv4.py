"""A request's SigV4 signature checked as API Gateway's IAM authoriser checks it.

The signature is computed again with botocore's own SigV4Auth over what arrived (method, path,
query, the headers the client listed as signed, and the body), with the secret the embedded
AWS issued for the access key, and compared in constant time. The scope (date, region,
service) and the clock skew are checked first; the answers use API Gateway's wording.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.aws_emulator import SigningIdentity

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
# AWS refuses a signature dated more than five minutes from its own clock (SigV4 guide).
MAX_SKEW = dt.timedelta(minutes=5)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM}\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
UNSIGNED_MESSAGE = "Missing Authentication Token"
UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."
MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


class Forbidden(Exception):
    """Answered 403 with {"message": ...}, before any handler runs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # as sent, before any decoding
    query: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes


Lookup = Callable[[str], SigningIdentity | None]


def verify(request: Received, *, region: str, lookup: Lookup, now: dt.datetime) -> SigningIdentity:
    """The identity that signed the request, or Forbidden."""
    authorization = request.headers.get("authorization", "").strip()
    if not authorization:
        raise Forbidden(UNSIGNED_MESSAGE)
    parsed = _AUTHORIZATION.match(authorization)
    if not parsed:
        raise Forbidden(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            f"parameters, signed with {ALGORITHM}."
        )
    access_key, *scope = parsed["credential"].split("/")
    signed = parsed["signed"].split(";")
    amz_date = _checked_date(request.headers.get("x-amz-date", ""), now)
    _check_scope(scope, amz_date, region)
    if "host" not in signed or any(name not in request.headers for name in signed):
        raise Forbidden(MISMATCH_MESSAGE)

    identity = lookup(access_key)
    if identity is None:
        raise Forbidden(UNKNOWN_KEY_MESSAGE)
    token = request.headers.get("x-amz-security-token")
    if identity.session_token is not None:
        # A role session's key is only good with its own token, and the token must be signed.
        if token is None or "x-amz-security-token" not in signed:
            raise Forbidden(UNKNOWN_KEY_MESSAGE)
        if not hmac.compare_digest(token.encode(), identity.session_token.encode()):
            raise Forbidden(UNKNOWN_KEY_MESSAGE)
    elif token is not None:
        raise Forbidden(UNKNOWN_KEY_MESSAGE)
    _check_payload_hash(request)

    expected = _signature(request, signed, amz_date, identity, region)
    if not hmac.compare_digest(expected.encode(), parsed["signature"].encode()):
        raise Forbidden(MISMATCH_MESSAGE)
    return identity


def _checked_date(value: str, now: dt.datetime) -> str:
    try:
        signed_at = dt.datetime.strptime(value, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        raise Forbidden(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        ) from None
    stamp = now.strftime(SIGV4_TIMESTAMP)
    if signed_at < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(SIGV4_TIMESTAMP)
        raise Forbidden(
            f"Signature expired: {value} is now earlier than {earliest} ({stamp} - 5 min.)"
        )
    if signed_at > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(SIGV4_TIMESTAMP)
        raise Forbidden(
            f"Signature not yet current: {value} is still later than {latest} ({stamp} + 5 min.)"
        )
    return value


def _check_scope(scope: list[str], amz_date: str, region: str) -> None:
    if len(scope) != 4 or scope[3] != "aws4_request":
        raise Forbidden(
            "Credential should be scoped to a valid region, service and terminator "
            "(ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request)."
        )
    date, scoped_region, service, _ = scope
    if date != amz_date[:8]:
        raise Forbidden(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if scoped_region != region:
        raise Forbidden(f"Credential should be scoped to a valid region, not '{scoped_region}'.")
    if service != SERVICE:
        raise Forbidden(f"Credential should be scoped to correct service: '{SERVICE}'.")


def _check_payload_hash(request: Received) -> None:
    # botocore puts this header's value into the canonical request instead of hashing the
    # body; a value that is not the body's hash would let a body be swapped unnoticed.
    declared = request.headers.get("x-amz-content-sha256")
    if (
        declared not in (None, UNSIGNED_PAYLOAD)
        and declared != hashlib.sha256(request.body).hexdigest()
    ):
        raise Forbidden(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )


def _signature(
    request: Received, signed: list[str], amz_date: str, identity: SigningIdentity, region: str
) -> str:
    url = f"http://{request.headers['host']}{request.path}"
    if request.query:
        url += f"?{request.query}"
    rebuilt = AWSRequest(
        method=request.method,
        url=url,
        data=request.body,
        headers={name: request.headers[name] for name in signed},
    )
    # The signing time is the client's, not ours: add_auth would stamp the current time.
    rebuilt.context["timestamp"] = amz_date
    auth = SigV4Auth(
        Credentials(identity.access_key_id, identity.secret_access_key, identity.session_token),
        SERVICE,
        region,
    )
    canonical = auth.canonical_request(rebuilt)
    return str(auth.signature(auth.string_to_sign(rebuilt, canonical), rebuilt))
