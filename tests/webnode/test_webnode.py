"""The web node for real: nginx with webnode/nginx-apcu.conf, php-fpm running webnode/apcu.php,
driven by the SSM document's own script out of template.yaml.

The script is the one deployed with ContainerName empty (nginx and php-fpm on the instance
itself, as here), so curl runs on this machine; everything (set -eu, the agent fallback,
curl -fsS) runs as written. The script is run by sh, which the SSM agent uses for
aws:runShellScript (dash on Debian and Ubuntu, bash on Amazon Linux), and by bash.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from pathlib import Path

import pytest

from harness import cfn_template
from harness.webnode_server import SNIPPET, Tools, WebNode, free_port
from tests.webnode.client import cache_keys, clear, fill, generate, opcache_counters, request
from tests.webnode.document import AGENTS, SHELLS, document_script, run_document

PREFIX_RULE = "^[A-Za-z0-9_.:-]{1,64}$"
USER_KEYS = ["user:1", "user:2", "user:42"]
# Keys that contain "user" without starting with "user:" must survive a `user:` clear.
OTHER_KEYS = ["page:home", "page:about", "xuser:1", "users:1"]
ALL_KEYS = USER_KEYS + OTHER_KEYS
ANSWER_FIELDS = [
    "cache",
    "status",
    "scope",
    "prefix",
    "entries_before",
    "entries_after",
    "cleared",
    "host",
    "pid",
]


def parent_pid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


# -- php-fpm's cache is not the CLI's --------------------------------------------------------


def test_the_php_cli_cannot_see_or_clear_php_fpms_cache(tools: Tools, node: WebNode) -> None:
    # Given keys stored through php-fpm
    fill(node, ALL_KEYS)

    # When the PHP CLI (what artisan runs in) looks for them and clears "the" cache
    code = (
        "echo json_encode(['entries' => apcu_cache_info(true)['num_entries'],"
        " 'fetch' => apcu_fetch('user:1'), 'clear' => apcu_clear_cache()]);"
    )
    cli = subprocess.run(
        [str(tools.php), "-d", "apc.enable_cli=1", "-r", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    # Then the CLI sees an empty cache of its own, its clear "succeeds", and php-fpm keeps every key
    assert json.loads(cli.stdout) == {"entries": 0, "fetch": False, "clear": True}
    assert cache_keys(node) == sorted(ALL_KEYS)


# -- the document's script clears ------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("shell", SHELLS)
def test_the_documents_script_clears_the_whole_cache(
    tools: Tools, node: WebNode, shell: str, agent: str
) -> None:
    # Given php-fpm's cache holding seven keys
    fill(node, ALL_KEYS)

    # When the document runs without a prefix
    run = run_document(tools, node.apcu_port, "", interpreter=shell, agent=agent)

    # Then every key is gone, and the answer says so in the shape the notifier reads
    answer = run.answer()
    assert cache_keys(node) == []
    assert list(answer) == ANSWER_FIELDS
    assert answer["cache"] == "apcu"
    assert answer["status"] == "cleared"
    assert answer["scope"] == "all"
    assert answer["prefix"] is None
    assert answer["entries_before"] == len(ALL_KEYS)
    assert answer["entries_after"] == 0
    assert answer["cleared"] == len(ALL_KEYS)
    assert answer["host"] == socket.gethostname()
    # The clear ran in a php-fpm worker of this node, not in some other PHP process.
    assert parent_pid(answer["pid"]) == node.fpm_master_pid


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("shell", SHELLS)
def test_the_documents_script_clears_only_keys_with_the_prefix(
    tools: Tools, node: WebNode, shell: str, agent: str
) -> None:
    # Given user: keys and others, some of which merely contain "user"
    fill(node, ALL_KEYS)

    # When the document runs with the prefix user:
    run = run_document(tools, node.apcu_port, "user:", interpreter=shell, agent=agent)

    # Then only the keys that start with user: are gone
    answer = run.answer()
    assert cache_keys(node) == sorted(OTHER_KEYS)
    assert answer["status"] == "cleared"
    assert answer["scope"] == "prefix"
    assert answer["prefix"] == "user:"
    assert answer["entries_before"] == len(ALL_KEYS)
    assert answer["entries_after"] == len(OTHER_KEYS)
    assert answer["cleared"] == len(USER_KEYS)
    assert parent_pid(answer["pid"]) == node.fpm_master_pid


def test_a_prefix_is_text_not_a_regular_expression(tools: Tools, node: WebNode) -> None:
    # Given keys that a prefix read as a regex ("." = any character) would also match
    fill(node, ["cfg.v1:a", "cfg.v1:b", "cfgXv1:c", "cfg-v1:d"])

    # When the document clears the prefix cfg.v1
    answer = run_document(
        tools, node.apcu_port, "cfg.v1", interpreter="sh", agent="env-var agent"
    ).answer()

    # Then only the keys with that exact text at the start are gone
    assert answer["cleared"] == 2
    assert cache_keys(node) == ["cfg-v1:d", "cfgXv1:c"]


@pytest.mark.parametrize("matching", [1, 999, 1000, 1001, 2000, 2500])
def test_a_prefix_clear_of_thousands_of_keys_deletes_them_all_and_no_other(
    tools: Tools, node: WebNode, matching: int
) -> None:
    # Given thousands of keys under user: (apcu.php deletes them a chunk at a time), and
    # others around them, some of which merely start with "user"
    keys = generate(node, {"user:": matching, "users:": 700, "page:": 300})

    # When the document clears the prefix user:
    answer = run_document(
        tools, node.apcu_port, "user:", interpreter="sh", agent="env-var agent"
    ).answer()

    # Then every user: key is gone, whatever chunk it fell in, and every other key is left
    assert answer["cleared"] == matching
    assert answer["entries_after"] == len(keys) - matching
    assert cache_keys(node) == [key for key in keys if not key.startswith("user:")]


def test_a_full_clear_of_thousands_of_keys_empties_the_cache(tools: Tools, node: WebNode) -> None:
    # Given a cache of 3,500 keys: several chunks
    keys = generate(node, {"user:": 2300, "page:": 1200})

    # When the document runs without a prefix
    answer = run_document(
        tools, node.apcu_port, "", interpreter="sh", agent="env-var agent"
    ).answer()

    # Then the cache is empty, and the answer counts every key
    assert answer["entries_before"] == len(keys)
    assert answer["cleared"] == len(keys)
    assert answer["entries_after"] == 0
    assert cache_keys(node) == []


def test_a_prefix_of_64_characters_is_accepted(node: WebNode) -> None:
    # Given a key that starts with the longest prefix the rule allows
    longest = "k" * 64
    fill(node, [longest + ":1", "other"])

    # When apcu.php is asked to clear that prefix
    reply = clear(node, [("prefix", longest)])

    # Then it clears that key alone
    assert reply.status == 200, reply.body
    assert reply.json()["cleared"] == 1
    assert cache_keys(node) == ["other"]


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        "",  # present but empty: a mistake, never "clear everything"
        "k" * 65,
        "user;id",
        "user:$(id)",
        "a b",
        "user*",
        "../etc",
        "user:\n",  # PCRE's $ would match before this newline
        "ユーザー:",
    ],
)
def test_a_bad_prefix_is_refused_with_the_rule(node: WebNode, prefix: str) -> None:
    # Given a full cache
    fill(node, ALL_KEYS)

    # When apcu.php is asked to clear a prefix that breaks the rule
    reply = clear(node, [("prefix", prefix)])

    # Then 400 with an error naming the rule, and nothing is cleared
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["status"] == "error"
    assert body["error"] == "invalid_prefix"
    assert PREFIX_RULE in body["message"]
    assert cache_keys(node) == sorted(ALL_KEYS)


def test_a_prefix_sent_as_a_list_is_refused(node: WebNode) -> None:
    fill(node, ALL_KEYS)

    reply = clear(node, [("prefix[]", "user:")])

    assert reply.status == 400
    assert reply.json()["error"] == "invalid_prefix"
    assert cache_keys(node) == sorted(ALL_KEYS)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_clears(node: WebNode, method: str) -> None:
    # Given a full cache
    fill(node, ALL_KEYS)

    # When apcu.php is called with another method
    reply = request(node.apcu_port, method, "/apcu.php")

    # Then 405 naming POST, a JSON error that no cache may keep, and nothing is cleared
    assert reply.status == 405
    assert reply.headers["allow"] == "POST"
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == "no-store"
    assert reply.json()["error"] == "method_not_allowed"
    assert cache_keys(node) == sorted(ALL_KEYS)


def test_nginx_refuses_any_other_source_address(node: WebNode) -> None:
    # Given a full cache, and a client on 127.0.0.2: on this machine, but not 127.0.0.1
    fill(node, ALL_KEYS)

    # When that client posts to the APCu server
    reply = clear(node, source="127.0.0.2")

    # Then nginx answers 403 itself (php-fpm is never asked), and nothing is cleared
    assert reply.status == 403
    assert "application/json" not in reply.headers.get("content-type", "")
    assert cache_keys(node) == sorted(ALL_KEYS)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_resets_opcache(node: WebNode, method: str) -> None:
    restarts = opcache_counters(node)["manual_restarts"]

    reply = request(node.apcu_port, method, "/opcache.php")

    assert reply.status == 405
    assert reply.headers["allow"] == "POST"
    assert reply.headers["cache-control"] == "no-store"
    assert reply.json()["error"] == "method_not_allowed"
    assert opcache_counters(node)["manual_restarts"] == restarts


def test_nginx_refuses_an_opcache_reset_from_any_other_source_address(node: WebNode) -> None:
    restarts = opcache_counters(node)["manual_restarts"]

    reply = request(node.apcu_port, "POST", "/opcache.php", [("step", "reset")], source="127.0.0.2")

    assert reply.status == 403
    assert "application/json" not in reply.headers.get("content-type", "")
    assert opcache_counters(node)["manual_restarts"] == restarts


def test_opcache_php_refuses_another_source_address_even_without_nginx_rules(
    unguarded_node: WebNode,
) -> None:
    # Given an APCu server without allow/deny, where opcache.php resets for 127.0.0.1
    before = opcache_counters(unguarded_node)["manual_restarts"]
    scheduled = request(unguarded_node.apcu_port, "POST", "/opcache.php", [("step", "reset")])
    assert scheduled.status == 200, scheduled.body
    assert opcache_counters(unguarded_node)["manual_restarts"] == before + 1

    # When a client on 127.0.0.2 asks it to reset
    reply = request(
        unguarded_node.apcu_port, "POST", "/opcache.php", [("step", "reset")], source="127.0.0.2"
    )

    # Then opcache.php refuses on its own, and OPcache does not restart
    assert reply.status == 403
    assert reply.json()["error"] == "forbidden"
    assert opcache_counters(unguarded_node)["manual_restarts"] == before + 1


def test_apcu_php_refuses_another_source_address_even_without_nginx_rules(
    unguarded_node: WebNode,
) -> None:
    # Given an APCu server that lost its allow/deny, which clears for 127.0.0.1 as the real one
    fill(unguarded_node, ALL_KEYS)
    assert clear(unguarded_node).status == 200
    fill(unguarded_node, ALL_KEYS)

    # When a client on 127.0.0.2 posts to it
    reply = clear(unguarded_node, source="127.0.0.2")

    # Then apcu.php refuses on its own, and nothing is cleared
    assert reply.status == 403
    assert reply.json()["error"] == "forbidden"
    assert cache_keys(unguarded_node) == sorted(ALL_KEYS)


# -- a server of its own, on loopback only -----------------------------------------------------


def _listen_addresses(conf: str) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in conf.splitlines()]
    return [line.removeprefix("listen").strip(" ;") for line in lines if line.startswith("listen ")]


def test_the_apcu_server_listens_on_loopback_at_the_stacks_default_port() -> None:
    # Given the server block as shipped, and the port the SSM document calls by default
    conf = SNIPPET.read_text(encoding="utf-8")
    port = cfn_template.parameter_defaults()["ApcuPort"]

    # Then it listens on 127.0.0.1 and ::1 at that port, and nowhere else
    assert _listen_addresses(conf) == [f"127.0.0.1:{port}", f"[::1]:{port}"]
    assert conf.count("server {") == 1
    assert f"127.0.0.1:{port}/apcu.php" in document_script(int(port)).replace("'", "")


def listening_addresses(port: int) -> set[str]:
    """Every address with a TCP socket in LISTEN on `port`, as the kernel reports it."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: TCP_LISTEN
                continue
            # The kernel prints each 32-bit word of the address in host (little-endian) order.
            raw = b"".join(
                bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8)
            )
            found.add(socket.inet_ntop(family, raw))
    return found


def test_the_apcu_server_listens_on_nothing_but_loopback(node: WebNode) -> None:
    # Given the APCu server started from the shipped block
    # Then the kernel has it listening on 127.0.0.1 and ::1 only: no other address of this
    # machine, and so no neighbour, load balancer or published port, can connect to it
    expected = {"127.0.0.1", "::1"} if node.ipv6 else {"127.0.0.1"}
    assert listening_addresses(node.apcu_port) == expected
    # (the public server, for comparison, is found the same way)
    assert listening_addresses(node.port) == {"127.0.0.1"}


def test_the_apcu_server_also_answers_on_ipv6_loopback(node: WebNode) -> None:
    served = (node.workdir / "nginx-apcu.conf").read_text(encoding="utf-8")
    if not node.ipv6:
        # A machine without IPv6 cannot bind ::1: the line is dropped, as the README says.
        assert _listen_addresses(served) == [f"127.0.0.1:{node.apcu_port}"]
        return
    fill(node, ALL_KEYS)

    connection = http.client.HTTPConnection("::1", node.apcu_port, timeout=10)
    try:
        connection.request("POST", "/apcu.php")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 200
    assert body["cleared"] == len(ALL_KEYS)
    assert cache_keys(node) == []


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/index.php",
        "/store.php",
        "/opcache_status.php",
        "/apcu.php/",
        "/apcu.phpx",
        "/opcache.php/",
        "/opcache.phpx",
        "/OPCACHE.php",
    ],
)
def test_the_apcu_server_serves_nothing_but_its_two_endpoints(node: WebNode, path: str) -> None:
    fill(node, ALL_KEYS)
    restarts = opcache_counters(node)["manual_restarts"]

    reply = request(node.apcu_port, "POST", path, [("step", "reset")])

    assert reply.status == 404
    assert cache_keys(node) == sorted(ALL_KEYS)
    assert opcache_counters(node)["manual_restarts"] == restarts


# -- behind a proxy, every public request comes from 127.0.0.1 ---------------------------------


def test_the_proxy_hands_public_traffic_to_the_app_from_127_0_0_1(node: WebNode) -> None:
    # Given a client elsewhere (127.0.0.2 stands in for the internet)
    # When it asks the proxy in front of the public server for the home page
    reply = request(node.proxy_port, "GET", "/", source="127.0.0.2")

    # Then the app answers, and sees the request coming from 127.0.0.1: allow/deny on the
    # public server could not tell it from the SSM document's curl
    assert reply.status == 200, reply.body
    assert reply.json() == {"app": "front controller", "uri": "/", "remote": "127.0.0.1"}


PROXIED_PATHS = [
    "/apcu.php",
    "/apcu.php?prefix=user:",
    "//apcu.php",
    "/./apcu.php",
    "/x/../apcu.php",
    "/%61pcu.php",
    "/APCU.php",
    "/index.php/apcu.php",
    "/index.php/../apcu.php",
    "/opt/apcu-fleet-flush/apcu.php",
    "/../../opt/apcu-fleet-flush/apcu.php",
    "http://127.0.0.1:{apcu_port}/apcu.php",
]
PROXIED_HOSTS = [None, "127.0.0.1:{apcu_port}", "[::1]:{apcu_port}", "localhost"]


@pytest.mark.parametrize("host", PROXIED_HOSTS)
@pytest.mark.parametrize("path", PROXIED_PATHS)
def test_no_request_through_the_proxy_clears_anything(
    node: WebNode, path: str, host: str | None
) -> None:
    # Given a full cache
    fill(node, ALL_KEYS)
    apcu_port = str(node.apcu_port)

    # When a public request for apcu.php, in any spelling and for any Host, goes through the proxy
    reply = request(
        node.proxy_port,
        "POST",
        path.replace("{apcu_port}", apcu_port),
        source="127.0.0.2",
        host=host.replace("{apcu_port}", apcu_port) if host else None,
    )

    # Then it never reaches apcu.php, and every key is still there
    assert reply.status in (400, 404), reply.body
    assert '"cleared"' not in reply.body
    assert cache_keys(node) == sorted(ALL_KEYS)


PROXIED_OPCACHE_PATHS = [
    "/opcache.php",
    "/opcache.php?step=reset",
    "//opcache.php",
    "/x/../opcache.php",
    "/%6fpcache.php",
    "/index.php/opcache.php",
    "/opt/apcu-fleet-flush/opcache.php",
    "http://127.0.0.1:{apcu_port}/opcache.php",
]


@pytest.mark.parametrize("host", PROXIED_HOSTS)
@pytest.mark.parametrize("path", PROXIED_OPCACHE_PATHS)
def test_no_request_through_the_proxy_resets_opcache(
    node: WebNode, path: str, host: str | None
) -> None:
    # Given OPcache's restart count
    restarts = opcache_counters(node)["manual_restarts"]
    apcu_port = str(node.apcu_port)

    # When a public request for opcache.php, in any spelling and for any Host, goes through
    # the proxy, asking for a reset
    reply = request(
        node.proxy_port,
        "POST",
        path.replace("{apcu_port}", apcu_port),
        [("step", "reset")],
        source="127.0.0.2",
        host=host.replace("{apcu_port}", apcu_port) if host else None,
    )

    # Then it never reaches opcache.php, and OPcache never restarts
    assert reply.status in (400, 404), reply.body
    assert '"opcache"' not in reply.body
    assert opcache_counters(node)["manual_restarts"] == restarts


def test_behind_the_proxy_the_documents_script_still_clears(tools: Tools, node: WebNode) -> None:
    # Given a full cache that a public request through the proxy failed to clear
    fill(node, ALL_KEYS)
    assert request(node.proxy_port, "POST", "/apcu.php", source="127.0.0.2").status == 404
    assert cache_keys(node) == sorted(ALL_KEYS)

    # When the SSM document's script runs, with the stack's ApcuPort pointing at the APCu server
    answer = run_document(
        tools, node.apcu_port, "", interpreter="sh", agent="env-var agent"
    ).answer()

    # Then it clears the cache
    assert answer["cleared"] == len(ALL_KEYS)
    assert cache_keys(node) == []


# -- the script fails when the clear did not happen ---------------------------------------------


def test_apcu_php_answers_503_when_apcu_is_off(node_without_apcu: WebNode) -> None:
    reply = clear(node_without_apcu)

    assert reply.status == 503
    assert reply.json()["error"] == "apcu_unavailable"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_documents_script_fails_when_apcu_is_off(
    tools: Tools, node_without_apcu: WebNode, shell: str
) -> None:
    # Given a web node whose php-fpm runs without APCu
    # When the document runs there
    run = run_document(
        tools, node_without_apcu.apcu_port, "", interpreter=shell, agent="env-var agent"
    )

    # Then the script exits non-zero (the invocation ends Failed, not Success) and says why
    assert run.returncode != 0
    assert "503" in run.stderr
    assert run.stdout == ""


def test_the_documents_script_fails_when_nothing_listens(tools: Tools) -> None:
    # Given a port where no nginx listens (the container is down, or ApcuPort is wrong)
    port = free_port()

    # When the document runs against it
    run = run_document(tools, port, "user:", interpreter="sh", agent="env-var agent")

    # Then the script exits non-zero
    assert run.returncode != 0
    assert run.stdout == ""
