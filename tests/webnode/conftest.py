"""One real web node per module (nginx + php-fpm start once), one whose APCu server lost its
allow/deny lines, and one with APCu switched off. tests/webnode/test_opcache.py starts its own,
each with the php.ini settings a test is about."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.webnode_server import (
    MissingToolError,
    Tools,
    WebNode,
    WebNodeError,
    find_tools,
)
from tests.webnode.client import request

STORE_PHP = Path(__file__).with_name("store.php")
OPCACHE_STATUS_PHP = Path(__file__).with_name("opcache_status.php")
SLEEP_PHP = Path(__file__).with_name("sleep.php")
FIXTURES = {"/store.php": STORE_PHP, "/opcache_status.php": OPCACHE_STATUS_PHP}


@pytest.fixture(scope="module")
def tools() -> Tools:
    # A missing tool fails the run: a web node test that skips proves nothing.
    try:
        return find_tools()
    except MissingToolError as error:
        pytest.fail(str(error), pytrace=False)


def _start(node: WebNode) -> WebNode:
    try:
        return node.start()
    except WebNodeError as error:
        pytest.fail(str(error), pytrace=False)


def _serving(web: WebNode, tools: Tools) -> WebNode:
    _start(web)
    probe = request(web.port, "POST", "/store.php")
    if probe.status == 503:
        web.stop()
        pytest.fail(
            f"php-fpm ({tools.php_fpm}) has no APCu: install php-apcu (make system-deps)",
            pytrace=False,
        )
    assert probe.status == 200, f"store.php answered {probe.status}: {probe.body}\n{web.logs()}"
    return web


@pytest.fixture(scope="module")
def node(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    web = _serving(WebNode(tmp_path_factory.mktemp("node"), scripts=FIXTURES), tools)
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="module")
def unguarded_node(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    # The APCu server as it would look if someone copied it without allow/deny: for a
    # client on another address, only apcu.php's own REMOTE_ADDR check stands between
    # it and the cache.
    web = WebNode(tmp_path_factory.mktemp("unguarded"), scripts=FIXTURES, guarded=False)
    web = _serving(web, tools)
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="module")
def node_without_apcu(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    web = _start(WebNode(tmp_path_factory.mktemp("off"), apcu_enabled=False))
    try:
        yield web
    finally:
        web.stop()
