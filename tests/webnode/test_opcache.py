"""OPcache for real: php-fpm with OPcache on and opcache.validate_timestamps=0 (the usual
production setting), nginx with webnode/nginx-apcu.conf, webnode/opcache.php, driven by the SSM
document's own script out of template.yaml with action=reset-opcache or clear-all.

Each node is started with the php.ini settings its tests are about: the API restricted to
another folder, preloading, the file cache.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import cfn_template
from harness.webnode_server import OPCACHE_PHP, Tools, WebNode
from tests.webnode.client import cache_keys, fill, opcache_counters, request
from tests.webnode.conftest import FIXTURES, SLEEP_PHP, _serving
from tests.webnode.document import AGENTS, SHELLS, run_document

PRODUCTION = {"opcache.enable": "1", "opcache.validate_timestamps": "0"}
SUCCESS_FIELDS = [
    "cache",
    "status",
    "host",
    "scripts_before",
    "scripts_after",
    "manual_restarts_before",
    "manual_restarts_after",
    "validate_timestamps",
    "preload",
    "file_cache",
    "caveats",
    "waited_ms",
]
ERROR_FIELDS = ["cache", "status", "error", "message", "host"]
KEYS = ["user:1", "page:home"]


def deploy(page: Path, version: int, *, age: float = 60) -> None:
    """Puts version `version` of the page in place as a deploy does: a new file renamed over it.

    Its time is set `age` seconds back: OPcache does not cache a file changed less than
    opcache.file_update_protection (2 s) ago, and a deployed release is older than that when
    traffic reaches it. Two versions that must differ in OPcache's eyes get different ages:
    it compares modification times in whole seconds."""
    fresh = page.with_name(page.name + ".new")
    fresh.write_text(f'<?php\necho "version {version}\\n";\n', encoding="utf-8")
    past = time.time() - age
    os.utime(fresh, (past, past))
    fresh.replace(page)


def served(node: WebNode) -> str:
    reply = request(node.port, "GET", "/page.php")
    assert reply.status == 200, reply.body
    return reply.body.strip()


def start_node(
    tools: Tools, workdir: Path, php_ini: dict[str, str], *, workers: int = 2
) -> WebNode:
    app = workdir / "app"
    app.mkdir(parents=True)
    page = app / "page.php"
    deploy(page, 1)
    scripts = {**FIXTURES, "/page.php": page, "/sleep.php": SLEEP_PHP}
    return _serving(
        WebNode(workdir / "node", scripts=scripts, php_ini=php_ini, workers=workers), tools
    )


@pytest.fixture(scope="module")
def node(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    # Three workers: the reset, a slow page beside it, and the nudge opcache.php sends.
    web = start_node(tools, tmp_path_factory.mktemp("opcache"), PRODUCTION, workers=3)
    try:
        yield web
    finally:
        web.stop()


def page_of(node: WebNode) -> Path:
    return node.scripts["/page.php"]


def reset(tools: Tools, node: WebNode, **options: str) -> dict[str, object]:
    return run_document(tools, node.apcu_port, action="reset-opcache", **options).answer()


# -- the reset takes -----------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("shell", SHELLS)
def test_after_a_deploy_the_old_code_is_served_until_the_reset(
    tools: Tools, node: WebNode, shell: str, agent: str
) -> None:
    # Given version 1 served, and so compiled into php-fpm's OPcache
    deploy(page_of(node), 1)
    reset(tools, node)
    assert served(node) == "version 1"

    # When version 2 is deployed over it
    deploy(page_of(node), 2)

    # Then php-fpm goes on serving version 1: validate_timestamps=0 never looks at the file
    assert [served(node) for _ in range(4)] == ["version 1"] * 4

    # When the document runs with action=reset-opcache
    answer = reset(tools, node, interpreter=shell, agent=agent)

    # Then version 2 is served, and the answer says the restart happened, in the notifier's shape
    assert [served(node) for _ in range(4)] == ["version 2"] * 4
    assert list(answer) == SUCCESS_FIELDS
    assert answer["cache"] == "opcache"
    assert answer["status"] == "reset"
    assert answer["manual_restarts_after"] == int(str(answer["manual_restarts_before"])) + 1
    assert int(str(answer["scripts_before"])) >= 1
    assert answer["validate_timestamps"] is False
    assert answer["preload"] is False
    assert answer["file_cache"] is False
    assert answer["caveats"] == []
    # The restart was in the OPcache of the php-fpm that serves the site
    assert opcache_counters(node)["manual_restarts"] == answer["manual_restarts_after"]


def test_the_php_cli_resets_nothing_php_fpm_serves(tools: Tools, node: WebNode) -> None:
    # Given version 1 compiled in php-fpm's OPcache, and version 2 deployed over it
    deploy(page_of(node), 1)
    reset(tools, node)
    assert served(node) == "version 1"
    deploy(page_of(node), 2)

    # When the PHP CLI (artisan, cachetool without a FastCGI adapter) resets "the" OPcache
    cli = subprocess.run(
        [str(tools.php), "-d", "opcache.enable_cli=1", "-r", "var_export(opcache_reset());"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    # Then it reports success, and php-fpm still serves version 1
    assert cli.stdout == "true"
    assert served(node) == "version 1"


def test_a_request_running_from_before_the_reset_delays_the_restart_not_the_verdict(
    tools: Tools, node: WebNode
) -> None:
    # Given version 2 deployed over a cached version 1, and a slow page still running when the
    # reset is asked for: OPcache restarts only when no request holds it
    deploy(page_of(node), 1)
    reset(tools, node)
    assert served(node) == "version 1"
    deploy(page_of(node), 2)
    slow = threading.Thread(target=request, args=(node.port, "GET", "/sleep.php?ms=1500"))
    slow.start()
    time.sleep(0.3)

    # When the document resets OPcache
    try:
        answer = reset(tools, node)
    finally:
        slow.join()

    # Then it waited for the slow page to end (opcache.php nudged php-fpm meanwhile), and the
    # restart happened
    assert answer["status"] == "reset"
    assert 700 <= int(str(answer["waited_ms"])) < 5000
    assert served(node) == "version 2"


def test_a_restart_still_pending_after_the_wait_fails_the_invocation(
    tools: Tools, node: WebNode
) -> None:
    # Given a page that runs longer than opcache.php waits for the restart (5 s)
    slow = threading.Thread(target=request, args=(node.port, "GET", "/sleep.php?ms=6500"))
    slow.start()
    time.sleep(0.3)

    # When the document resets OPcache
    try:
        run = run_document(tools, node.apcu_port, action="reset-opcache")
    finally:
        slow.join()

    # Then the invocation fails, and its output says why, in the notifier's shape
    assert run.returncode != 0
    (line,) = run.lines()
    assert list(line) == ERROR_FIELDS
    assert line["cache"] == "opcache"
    assert line["error"] == "not_restarted"
    assert "still pending" in str(line["message"])
    assert "503" in run.stderr
    # (and once the slow page has ended, the next request restarts OPcache)
    assert opcache_counters(node)["restart_pending"] is False


def test_clear_all_clears_apcu_then_resets_opcache(tools: Tools, node: WebNode) -> None:
    # Given APCu keys, and version 2 deployed over a cached version 1
    fill(node, KEYS)
    deploy(page_of(node), 1)
    reset(tools, node)
    assert served(node) == "version 1"
    deploy(page_of(node), 2)

    # When the document runs with action=clear-all
    run = run_document(tools, node.apcu_port, action="clear-all")

    # Then both caches are cleared, and the output has one line per cache, APCu first
    assert run.returncode == 0, run.stderr
    apcu, opcache = run.lines()
    assert apcu["cache"] == "apcu"
    assert apcu["cleared"] == len(KEYS)
    assert opcache["cache"] == "opcache"
    assert opcache["status"] == "reset"
    assert "cleared" not in opcache  # the notifier counts APCu's entries from "cleared"
    assert cache_keys(node) == []
    assert served(node) == "version 2"


def test_clear_all_fails_when_the_opcache_reset_fails(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given a node whose OPcache is off (the APCu clear works)
    web = start_node(tools, tmp_path_factory.mktemp("off"), {"opcache.enable": "0"})
    try:
        fill(web, KEYS)

        # When the document runs with action=clear-all
        run = run_document(tools, web.apcu_port, action="clear-all")
    finally:
        web.stop()

    # Then APCu was cleared, and the invocation fails with OPcache's reason
    assert run.returncode != 0
    apcu, opcache = run.lines()
    assert apcu["cleared"] == len(KEYS)
    assert opcache["error"] == "disabled"


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_a_prefix_with_reset_opcache_is_refused(tools: Tools, node: WebNode, agent: str) -> None:
    restarts = opcache_counters(node)["manual_restarts"]

    run = run_document(tools, node.apcu_port, "user:", action="reset-opcache", agent=agent)

    assert run.returncode != 0
    assert run.stdout == ""
    assert "prefix" in run.stderr and "OPcache" in run.stderr
    assert opcache_counters(node)["manual_restarts"] == restarts


ACTION_PATTERN = "^(clear-apcu|reset-opcache|clear-all)$"


def test_the_document_takes_the_action_with_a_pattern_ssm_checks() -> None:
    parameters = cfn_template.flush_document()["parameters"]
    assert parameters["action"] == {
        "type": "String",
        "description": parameters["action"]["description"],
        "default": "clear-apcu",
        "allowedPattern": ACTION_PATTERN,
        "interpolationType": "ENV_VAR",
    }


@pytest.mark.parametrize(
    "action",
    ["", "clear", "CLEAR-APCU", "reset_opcache", "clear-all ", "clear-apcu;id", "$(id)", "all"],
)
def test_the_action_pattern_refuses_anything_else(action: str) -> None:
    pattern = cfn_template.flush_document()["parameters"]["action"]["allowedPattern"]
    assert not re.search(pattern, action)


@pytest.mark.parametrize("action", ["", "bogus", "clear-all\n", "CLEAR-APCU", "apcu"])
def test_the_script_refuses_an_action_the_pattern_let_through(
    tools: Tools, node: WebNode, action: str
) -> None:
    # ("clear-all\n": a regex's $ may match before a final newline.)
    fill(node, KEYS)
    restarts = opcache_counters(node)["manual_restarts"]

    run = run_document(tools, node.apcu_port, action=action)

    assert run.returncode != 0
    assert "unknown action" in run.stderr
    assert cache_keys(node) == sorted(KEYS)
    assert opcache_counters(node)["manual_restarts"] == restarts


def test_restrict_api_elsewhere_fails_the_invocation_with_the_reason(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given php-fpm whose OPcache API answers only scripts under another folder
    workdir = tmp_path_factory.mktemp("restricted")
    elsewhere = f"{workdir / 'ops-tools'}/"
    web = start_node(tools, workdir, {**PRODUCTION, "opcache.restrict_api": elsewhere})
    try:
        assert served(web) == "version 1"
        deploy(page_of(web), 2)

        # When the document resets OPcache
        run = run_document(tools, web.apcu_port, action="reset-opcache")
        page = served(web)
    finally:
        web.stop()

    # Then the invocation fails, its output names restrict_api, and version 1 is still served
    assert run.returncode != 0
    (line,) = run.lines()
    assert line["error"] == "restricted"
    assert f"opcache.restrict_api={elsewhere}" in str(line["message"])
    assert page == "version 1"


def test_restrict_api_on_the_endpoints_folder_lets_only_it_reset(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the API restricted to the folder holding opcache.php, as webnode/README.md advises
    web = start_node(
        tools,
        tmp_path_factory.mktemp("endpoint-only"),
        {**PRODUCTION, "opcache.restrict_api": f"{OPCACHE_PHP.parent}/"},
    )
    try:
        assert served(web) == "version 1"
        deploy(page_of(web), 2)
        assert served(web) == "version 1"
        answer = run_document(tools, web.apcu_port, action="reset-opcache").answer()
        page = served(web)
    finally:
        web.stop()

    assert answer["status"] == "reset"
    assert page == "version 2"


# -- caveats ------------------------------------------------------------------------------------


def test_preloading_is_reported_as_a_caveat(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given php-fpm preloading a script
    workdir = tmp_path_factory.mktemp("preload")
    preload = workdir / "preload.php"
    preload.write_text("<?php\nfunction preloaded(): string { return 'v1'; }\n", encoding="utf-8")
    settings = {**PRODUCTION, "opcache.preload": str(preload)}
    if os.geteuid() == 0:
        # OPcache refuses to preload as root unless told which user to preload as.
        settings["opcache.preload_user"] = "root"
    web = start_node(tools, workdir, settings)
    try:
        # When the document resets OPcache
        answer = run_document(tools, web.apcu_port, action="reset-opcache").answer()
    finally:
        web.stop()

    # Then the reset took, with the preload caveat
    assert answer["status"] == "reset"
    assert answer["preload"] is True
    assert answer["caveats"] == ["preload"]


def file_cache_node(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory, name: str, settings: dict[str, str]
) -> WebNode:
    """A node with OPcache's file cache on, serving version 1, which it has compiled into
    both shared memory and the file cache; then version 2 deployed over it, a minute newer."""
    workdir = tmp_path_factory.mktemp(name)
    cache = workdir / "file-cache"
    cache.mkdir()
    web = start_node(tools, workdir, {**settings, "opcache.file_cache": str(cache)})
    try:
        deploy(page_of(web), 1, age=120)
        assert served(web) == "version 1"
        assert any(cache.rglob("*page.php.bin")), "OPcache wrote no file cache for the page"
        deploy(page_of(web), 2, age=60)
        # Shared memory still serves version 1 until the reset (with validate_timestamps=1 too:
        # the node below revalidates once an hour)
        assert served(web) == "version 1"
    except BaseException:
        web.stop()
        raise
    return web


def test_with_validate_timestamps_off_the_file_cache_brings_old_code_back_and_says_so(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the file cache on, with validate_timestamps=0, and version 2 deployed over version 1
    web = file_cache_node(tools, tmp_path_factory, "file-cache-off", PRODUCTION)
    try:
        # When the document resets OPcache
        answer = run_document(tools, web.apcu_port, action="reset-opcache").answer()
        page = served(web)
    finally:
        web.stop()

    # Then the restart took, but OPcache loaded version 1 again from its file cache without
    # looking at the source, and the answer says so with the caveat the notifier alerts on
    assert answer["status"] == "reset"
    assert page == "version 1"
    assert answer["file_cache"] is True
    assert answer["validate_timestamps"] is False
    assert answer["caveats"] == ["file_cache"]


def test_with_validate_timestamps_on_the_file_cache_serves_no_old_code_and_is_no_caveat(
    tools: Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the file cache on, with validate_timestamps=1 (revalidating once an hour, so that
    # only the reset can bring version 2), and version 2 deployed over version 1
    settings = {"opcache.validate_timestamps": "1", "opcache.revalidate_freq": "3600"}
    web = file_cache_node(tools, tmp_path_factory, "file-cache-on", settings)
    try:
        # When the document resets OPcache
        answer = run_document(tools, web.apcu_port, action="reset-opcache").answer()
        page = served(web)
    finally:
        web.stop()

    # Then version 2 is served: OPcache dropped the file cache's version 1, whose source time
    # had changed. Nothing old can run, so the file cache is no caveat; validate_timestamps is
    assert answer["status"] == "reset"
    assert page == "version 2"
    assert answer["file_cache"] is True
    assert answer["validate_timestamps"] is True
    assert answer["caveats"] == ["validate_timestamps"]
