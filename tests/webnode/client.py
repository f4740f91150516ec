"""Plain HTTP to a test web node, from a chosen loopback source address."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.webnode_server import WebNode


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: str

    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict), self.body
        return data


def request(
    port: int,
    method: str,
    path: str,
    form: Sequence[tuple[str, str]] = (),
    *,
    source: str = "127.0.0.1",
    host: str | None = None,
) -> Reply:
    """One request to 127.0.0.1:`port`; `source` picks the client address (all of
    127.0.0.0/8 is this machine), `host` the Host header. `path` is sent as written."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        body = urlencode(list(form)) if form else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        if host is not None:
            headers["Host"] = host
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        names = {name.lower(): value for name, value in response.getheaders()}
        return Reply(status=response.status, headers=names, body=text)
    finally:
        connection.close()


def clear(
    node: WebNode, form: Sequence[tuple[str, str]] = (), *, source: str = "127.0.0.1"
) -> Reply:
    """POST to apcu.php on the node's APCu server, as the SSM document's script does."""
    return request(node.apcu_port, "POST", "/apcu.php", form, source=source)


def cache_keys(node: WebNode, store: Sequence[str] = ()) -> list[str]:
    """Store `store` through php-fpm, then every key php-fpm's cache holds, sorted."""
    reply = request(node.port, "POST", "/store.php", [("store[]", key) for key in store])
    assert reply.status == 200, f"store.php answered {reply.status}: {reply.body}"
    keys = reply.json()["keys"]
    assert isinstance(keys, list)
    return [str(key) for key in keys]


def generate(node: WebNode, counts: Mapping[str, int]) -> list[str]:
    """A cache holding exactly `count` keys <prefix>0, <prefix>1, ... for each prefix; the keys."""
    cleared = clear(node)
    assert cleared.status == 200, cleared.body
    form = [(f"generate[{prefix}]", str(count)) for prefix, count in counts.items()]
    reply = request(node.port, "POST", "/store.php", form)
    assert reply.status == 200, f"store.php answered {reply.status}: {reply.body}"
    expected = sorted(f"{prefix}{i}" for prefix, count in counts.items() for i in range(count))
    assert reply.json()["keys"] == expected
    return expected


def fill(node: WebNode, keys: Sequence[str]) -> None:
    """A cache holding exactly `keys`, whatever earlier tests left behind."""
    cleared = clear(node)
    assert cleared.status == 200, cleared.body
    assert cache_keys(node, keys) == sorted(keys)


def opcache_counters(node: WebNode) -> dict[str, Any]:
    """OPcache's restart counters as php-fpm sees them (tests/webnode/opcache_status.php)."""
    reply = request(node.port, "GET", "/opcache_status.php")
    assert reply.status == 200, f"opcache_status.php answered {reply.status}: {reply.body}"
    return reply.json()
