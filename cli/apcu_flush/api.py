"""The routes of the flush API, each request signed with SigV4 for execute-api."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from apcu_flush import __version__
from apcu_flush.exits import CliError, Exit

SERVICE = "execute-api"
REQUEST_TIMEOUT_SECONDS = 30.0
_ROUTE = "/flush"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def message(self) -> str:
        """What the API said was wrong: the dispatcher's error, or API Gateway's own message."""
        error = self.body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        return str(self.body.get("message") or f"HTTP {self.status}")


def flush_url(api_url: str) -> str:
    """The POST /flush URL: the stack's ApiUrl output, or the API's base URL."""
    parts = urlsplit(api_url.strip())
    try:
        has_host = parts.scheme in {"https", "http"} and bool(parts.hostname)
        parts.port  # noqa: B018 (read for its check: a port that is not a number raises)
    except ValueError:
        has_host = False
    if not has_host or any(c.isspace() for c in api_url.strip()):
        raise CliError(
            Exit.REFUSED,
            f"the API URL {api_url!r} is not a URL: pass the stack's ApiUrl output, which "
            "looks like https://API_ID.execute-api.REGION.amazonaws.com/flush",
        )
    path = parts.path.rstrip("/")
    if not path.endswith(_ROUTE):
        path += _ROUTE
    return f"{parts.scheme}://{parts.netloc}{path}"


class FlushApi:
    def __init__(
        self,
        api_url: str,
        *,
        credentials: Callable[[], ReadOnlyCredentials],
        region: str,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._url = flush_url(api_url)
        self._credentials = credentials
        self._region = region
        self._timeout = timeout

    def clear(self, body: Mapping[str, Any]) -> Reply:
        return self._send("POST", self._url, json.dumps(body).encode())

    def status(self, command_id: str) -> Reply:
        return self._send("GET", f"{self._url}/{quote(command_id, safe='')}", None)

    def retry(self, command_id: str) -> Reply:
        # No body: the API re-sends what the command's record says, nothing a caller chose.
        return self._send("POST", f"{self._url}/{quote(command_id, safe='')}/retry", None)

    def _send(self, method: str, url: str, data: bytes | None) -> Reply:
        headers = {"Accept": "application/json", "User-Agent": f"apcu-flush/{__version__}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        signed = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self._credentials(), SERVICE, self._region).add_auth(signed)
        request = urllib.request.Request(  # noqa: S310 (the URL was checked to be http(s) above)
            url, data=data, headers=dict(signed.headers.items()), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                return Reply(answer.status, _json(answer.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, _json(error.read()))
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
        ) as error:
            reason = getattr(error, "reason", error)
            raise CliError(Exit.FAILED, f"could not reach {url}: {reason}") from error


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": raw.decode("utf-8", errors="replace").strip()[:500]}
    return value if isinstance(value, dict) else {"message": str(value)}
