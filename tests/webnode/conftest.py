"""One real web node per module (nginx + php-fpm start once), and one with APCu switched off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.webnode_server import (
    APCU_PHP,
    MissingToolError,
    Tools,
    WebNode,
    WebNodeError,
    find_tools,
)
from tests.webnode.client import request

STORE_PHP = Path(__file__).with_name("store.php")
UNGUARDED_URI = "/unguarded/apcu.php"


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


@pytest.fixture(scope="module")
def node(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    web = WebNode(tmp_path_factory.mktemp("node"), scripts={"/store.php": STORE_PHP})
    # The location as it would look if someone copied it without allow/deny: only
    # apcu.php's own REMOTE_ADDR check stands between a stranger and the cache.
    web.extra_locations = (
        f"location = {UNGUARDED_URI} {{\n"
        "    include fastcgi_params;\n"
        f"    fastcgi_param SCRIPT_FILENAME {APCU_PHP};\n"
        f"    fastcgi_pass unix:{web.socket_path};\n"
        "}\n"
    )
    _start(web)
    try:
        probe = request(web, "POST", "/store.php")
        if probe.status == 503:
            pytest.fail(
                f"php-fpm ({tools.php_fpm}) has no APCu: install php-apcu (make system-deps)",
                pytrace=False,
            )
        assert probe.status == 200, f"store.php answered {probe.status}: {probe.body}\n{web.logs()}"
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
