"""A real web node on this machine: nginx and php-fpm on loopback, configured in a folder.

nginx serves three servers, each on a port of its own:

- the APCu server: the project's own webnode/nginx-apcu.conf, as shipped, on 127.0.0.1 and ::1.
  It names a port and three paths meant for a production image; they are replaced by plain
  text (see SNIPPET_PORT, SNIPPET_SOCKET, SNIPPET_SCRIPT and SNIPPET_OPCACHE_SCRIPT);
- the app's public server, configured as Laravel's documentation configures it, with a
  stand-in front controller in its document root;
- a reverse proxy in front of the public server, forwarding every request over loopback
  as a TLS terminator or a sidecar would, so that each one arrives from 127.0.0.1.

php-fpm runs the project's own webnode/apcu.php and webnode/opcache.php, so what is tested is
what ships. Nothing
listens anywhere but loopback and a unix socket inside the work folder, and no system-wide
service is touched.

    with WebNode(tmp_path) as node:
        requests.post(f"http://127.0.0.1:{node.apcu_port}/apcu.php")
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness import cfn_template

ROOT = Path(__file__).resolve().parents[1]
APCU_PHP = ROOT / "webnode" / "apcu.php"
OPCACHE_PHP = ROOT / "webnode" / "opcache.php"
SNIPPET = ROOT / "webnode" / "nginx-apcu.conf"
# The strings of the snippet that name production paths.
SNIPPET_SOCKET = "/run/php/php-fpm.sock"
SNIPPET_SCRIPT = "/opt/apcu-fleet-flush/apcu.php"
SNIPPET_OPCACHE_SCRIPT = "/opt/apcu-fleet-flush/opcache.php"
# The port the snippet listens on is the stack's default ApcuPort: the two must agree.
SNIPPET_PORT = cfn_template.parameter_defaults()["ApcuPort"]
_ALLOW_DENY = re.compile(r"^[ \t]*(allow|deny)[ \t][^;\n]*;[ \t]*\n", re.MULTILINE)
# Stands in for Laravel's public/index.php: the page for "/", Laravel's 404 for any other URI.
FRONT_CONTROLLER = """<?php
$uri = $_SERVER['REQUEST_URI'] ?? '';
http_response_code(parse_url($uri, PHP_URL_PATH) === '/' ? 200 : 404);
header('Content-Type: application/json');
$remote = $_SERVER['REMOTE_ADDR'] ?? '';
echo json_encode(['app' => 'front controller', 'uri' => $uri, 'remote' => $remote]), "\\n";
"""

INSTALL_HINT = "install them with `make system-deps` (.ci/system-deps: nginx, php-fpm with OPcache, php-apcu, php-cli, curl)"
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 10.0
# sun_path is 108 bytes on Linux; a longer socket path fails with a confusing error.
_MAX_SOCKET_PATH = 100


class MissingToolError(RuntimeError):
    """nginx, php-fpm, the PHP CLI or curl is not installed."""


class WebNodeError(RuntimeError):
    """nginx or php-fpm did not start; the message carries their logs."""


def local_flush_script(apcu_port: int) -> str:
    """The SSM document's script out of template.yaml, exactly as deployed with
    ApcuPort=apcu_port and ContainerName empty: for nginx and php-fpm installed on the instance
    itself, as here, so that curl runs on this machine."""
    script = cfn_template.flush_script({"ApcuPort": str(apcu_port), "ContainerName": ""})
    if "container=''" not in script:
        raise WebNodeError(
            f"the document's script no longer takes an empty ContainerName:\n{script}"
        )
    return script


@dataclass(frozen=True)
class Tools:
    nginx: Path
    php_fpm: Path
    php: Path
    curl: Path
    fastcgi_params: Path


def _which(name: str, *patterns: str) -> Path | None:
    # /usr/sbin is often missing from a non-root PATH, and Debian names the binary php-fpm8.2.
    found = shutil.which(name)
    if found:
        return Path(found)
    for pattern in patterns:
        where = Path(pattern)
        matches = sorted(where.parent.glob(where.name), reverse=True)
        if matches:
            return matches[0]
    return None


def _fastcgi_params(nginx: Path) -> Path | None:
    # The snippet says `include fastcgi_params;`, as every packaged nginx ships it.
    candidates = [Path("/etc/nginx/fastcgi_params")]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        version = subprocess.run(
            [str(nginx), "-V"], capture_output=True, text=True, timeout=10, check=False
        )
        for word in version.stderr.split():
            if word.startswith("--conf-path="):
                candidates.insert(0, Path(word.split("=", 1)[1]).parent / "fastcgi_params")
    return next((path for path in candidates if path.is_file()), None)


def find_tools() -> Tools:
    """Everything a web node needs, or MissingToolError naming what is missing."""
    nginx = _which("nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx")
    php_fpm = _which("php-fpm", "/usr/sbin/php-fpm*", "/usr/local/sbin/php-fpm*")
    php = _which("php", "/usr/bin/php*")
    curl = _which("curl")
    params = _fastcgi_params(nginx) if nginx else None
    missing = [
        name
        for name, path in (
            ("nginx", nginx),
            ("php-fpm", php_fpm),
            ("php (CLI)", php),
            ("curl", curl),
            ("nginx's fastcgi_params", params),
        )
        if path is None
    ]
    if missing:
        raise MissingToolError(f"the web node needs {', '.join(missing)}: {INSTALL_HINT}")
    assert nginx and php_fpm and php and curl and params
    return Tools(nginx=nginx, php_fpm=php_fpm, php=php, curl=curl, fastcgi_params=params)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` different free ports, all held open while probing so none comes twice."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def _loopback_v6() -> bool:
    """Whether ::1 can be bound here (not in a container or kernel without IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _answers(address: str | tuple[str, int], family: socket.AddressFamily) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(address)
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path.name}: none)"
    return f"--- {path.name} ---\n" + "\n".join(text.splitlines()[-lines:])


class WebNode:
    """nginx + php-fpm serving webnode/apcu.php on 127.0.0.1:<apcu_port> (and [::1]).

    `port` is the app's public server and `proxy_port` the proxy in front of it. `scripts`
    serves more PHP files in the public server, each at its own exact URI and loopback
    only, e.g. {"/store.php": fixture}. apcu_enabled=False starts php-fpm with APCu
    switched off (apc.enabled=0), as on a server where the extension was forgotten.
    guarded=False serves the APCu server without its allow/deny lines, as if someone had
    copied it without them. `php_ini` goes to php-fpm as -d settings (apc.shm_size and
    apc.entries_hint take effect only there: APCu sizes its memory before the pool starts).
    `apcu_php` serves another copy of apcu.php (the bench compares versions with it), and
    `opcache_php` another opcache.php.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        apcu_enabled: bool = True,
        scripts: Mapping[str, Path] | None = None,
        guarded: bool = True,
        workers: int = 2,
        php_ini: Mapping[str, str] | None = None,
        apcu_php: Path = APCU_PHP,
        opcache_php: Path = OPCACHE_PHP,
    ) -> None:
        self.workdir = workdir.resolve()
        self.apcu_enabled = apcu_enabled
        self.scripts = dict(scripts or {})
        self.guarded = guarded
        self.workers = workers
        self.php_ini = dict(php_ini or {})
        self.apcu_php = apcu_php.resolve()
        self.opcache_php = opcache_php.resolve()
        self.socket_path = self.workdir / "php-fpm.sock"
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise ValueError(f"unix socket path too long for Linux: {self.socket_path}")
        # Containers without IPv6 have no ::1 to bind; the README says to drop that line there.
        self.ipv6 = _loopback_v6()
        self.port = 0
        self.proxy_port = 0
        self.apcu_port = 0
        self._nginx: subprocess.Popen[bytes] | None = None
        self._fpm: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The app's public server."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def apcu_url(self) -> str:
        """Where the SSM document's script posts."""
        return f"http://127.0.0.1:{self.apcu_port}/apcu.php"

    @property
    def opcache_url(self) -> str:
        return f"http://127.0.0.1:{self.apcu_port}/opcache.php"

    @property
    def fpm_master_pid(self) -> int:
        # php-fpm runs in the foreground, so the process we started is its master.
        if self._fpm is None:
            raise WebNodeError("php-fpm is not running")
        return self._fpm.pid

    # -- configuration ---------------------------------------------------------------------

    def _fpm_config(self) -> str:
        root = os.geteuid() == 0
        return "\n".join(
            [
                "[global]",
                f"pid = {self.workdir / 'php-fpm.pid'}",
                f"error_log = {self.workdir / 'php-fpm.log'}",
                "daemonize = no",
                "",
                "[webnode]",
                # php-fpm refuses to run a pool as root unless told so (with -R below too).
                *(["user = root", "group = root"] if root else []),
                f"listen = {self.socket_path}",
                # nginx's workers run as the same user as php-fpm here (see _nginx_config).
                "listen.mode = 0600",
                "pm = static",
                f"pm.max_children = {self.workers}",
                "catch_workers_output = yes",
                f"php_admin_value[apc.enabled] = {1 if self.apcu_enabled else 0}",
                "",
            ]
        )

    def _snippet(self) -> str:
        """webnode/nginx-apcu.conf with this node's port and paths in place of production's."""
        text = SNIPPET.read_text(encoding="utf-8")
        listens = [f"listen 127.0.0.1:{SNIPPET_PORT};", f"listen [::1]:{SNIPPET_PORT};"]
        for production in (SNIPPET_SOCKET, SNIPPET_SCRIPT, SNIPPET_OPCACHE_SCRIPT, *listens):
            if production not in text:
                raise WebNodeError(f"{SNIPPET.name} no longer names {production}; update this file")
        text = text.replace(listens[0], f"listen 127.0.0.1:{self.apcu_port};")
        text = text.replace(listens[1], f"listen [::1]:{self.apcu_port};" if self.ipv6 else "")
        if not self.guarded:
            text, removed = _ALLOW_DENY.subn("", text)
            if removed == 0:
                raise WebNodeError(f"{SNIPPET.name} has no allow/deny lines to leave out")
        text = text.replace(SNIPPET_SOCKET, str(self.socket_path))
        text = text.replace(SNIPPET_OPCACHE_SCRIPT, str(self.opcache_php))
        return text.replace(SNIPPET_SCRIPT, str(self.apcu_php))

    def _script_location(self, uri: str, script: Path) -> str:
        return (
            f"location = {uri} {{\n"
            "    allow 127.0.0.1;\n    allow ::1;\n    deny all;\n"
            "    include fastcgi_params;\n"
            f"    fastcgi_param SCRIPT_FILENAME {script.resolve()};\n"
            f"    fastcgi_pass unix:{self.socket_path};\n"
            "}\n"
        )

    def _public_server(self) -> str:
        # Laravel's documented server block (Deployment, nginx): every URI that is not a
        # file goes to public/index.php, and only index.php is ever handed to php-fpm.
        locations = "".join(self._script_location(u, s) for u, s in self.scripts.items())
        return (
            "server {\n"
            f"    listen 127.0.0.1:{self.port};\n"
            "    server_name _;\n"
            f"    root {self.workdir / 'public'};\n"
            "    index index.php;\n"
            "    location / {\n"
            "        try_files $uri $uri/ /index.php?$query_string;\n"
            "    }\n"
            "    error_page 404 /index.php;\n"
            "    location ~ ^/index\\.php(/|$) {\n"
            f"        fastcgi_pass unix:{self.socket_path};\n"
            "        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;\n"
            "        include fastcgi_params;\n"
            "    }\n"
            "    location ~ /\\.(?!well-known).* {\n"
            "        deny all;\n"
            "    }\n"
            f"{locations}"
            "}\n"
        )

    def _proxy_server(self) -> str:
        # What a TLS terminator or a sidecar does: forward everything, Host included, to
        # the public server over loopback. Every request then comes from 127.0.0.1.
        return (
            "server {\n"
            f"    listen 127.0.0.1:{self.proxy_port};\n"
            "    server_name _;\n"
            "    location / {\n"
            f"        proxy_pass http://127.0.0.1:{self.port};\n"
            "        proxy_set_header Host $http_host;\n"
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "    }\n"
            "}\n"
        )

    def _nginx_config(self) -> str:
        temp = self.workdir / "nginx-temp"
        temp_paths = "\n".join(
            f"    {kind}_temp_path {temp / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As root, nginx would hand its workers to `nobody`, who can open neither the
        # 0700 work folder nor php-fpm's socket.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}"
            "daemon off;\n"
            "worker_processes 1;\n"
            f"pid {self.workdir / 'nginx.pid'};\n"
            f"error_log {self.workdir / 'nginx-error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {self.workdir / 'nginx-access.log'};\n"
            f"{temp_paths}\n"
            # At http level, beside the public server, as webnode/README.md tells.
            f"    include {self.workdir / 'nginx-apcu.conf'};\n"
            f"{self._public_server()}"
            f"{self._proxy_server()}"
            "}\n"
        )

    # -- processes -------------------------------------------------------------------------

    def start(self) -> WebNode:
        tools = find_tools()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "public").mkdir(exist_ok=True)
        (self.workdir / "public" / "index.php").write_text(FRONT_CONTROLLER, encoding="utf-8")
        (self.workdir / "nginx-temp").mkdir(exist_ok=True)
        # Relative includes resolve against the folder of nginx.conf.
        shutil.copyfile(tools.fastcgi_params, self.workdir / "fastcgi_params")
        try:
            self._start_fpm(tools)
            self._start_nginx(tools)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_fpm(self, tools: Tools) -> None:
        config = self.workdir / "php-fpm.conf"
        config.write_text(self._fpm_config(), encoding="utf-8")
        command = [str(tools.php_fpm), "--nodaemonize", "--fpm-config", str(config)]
        for name, value in self.php_ini.items():
            command += ["-d", f"{name}={value}"]
        if os.geteuid() == 0:
            command.append("--allow-to-run-as-root")
        self._fpm = self._spawn(command, "php-fpm.out")
        self._wait(self._fpm, str(self.socket_path), socket.AF_UNIX, "php-fpm")

    def _start_nginx(self, tools: Tools) -> None:
        # A free port can be taken between the probe and nginx's bind: try a few.
        for _attempt in range(3):
            self.port, self.proxy_port, self.apcu_port = free_ports(3)
            (self.workdir / "nginx-apcu.conf").write_text(self._snippet(), encoding="utf-8")
            config = self.workdir / "nginx.conf"
            config.write_text(self._nginx_config(), encoding="utf-8")
            command = [str(tools.nginx), "-p", f"{self.workdir}/", "-c", str(config)]
            # -e: errors before the configuration is read go here, not to /var/log/nginx.
            command += ["-e", str(self.workdir / "nginx-error.log")]
            self._nginx = self._spawn(command, "nginx.out")
            try:
                for port in (self.port, self.proxy_port, self.apcu_port):
                    self._wait(self._nginx, ("127.0.0.1", port), socket.AF_INET, "nginx")
                if self.ipv6:
                    self._wait(self._nginx, ("::1", self.apcu_port), socket.AF_INET6, "nginx")
                return
            except WebNodeError as error:
                if "Address already in use" not in str(error):
                    raise
                self._stop_process(self._nginx)
        raise WebNodeError("nginx found no free ports on 127.0.0.1")

    def _spawn(self, command: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log_name).open("ab") as log:
            return subprocess.Popen(
                command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait(
        self,
        process: subprocess.Popen[bytes],
        address: str | tuple[str, int],
        family: socket.AddressFamily,
        name: str,
    ) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise WebNodeError(f"{name} exited with {process.returncode}\n{self.logs()}")
            if _answers(address, family):
                return
            time.sleep(0.05)
        raise WebNodeError(
            f"{name} did not answer on {address} in {_START_TIMEOUT}s\n{self.logs()}"
        )

    def logs(self) -> str:
        names = ("nginx.out", "nginx-error.log", "php-fpm.out", "php-fpm.log")
        return "\n".join(_tail(self.workdir / name) for name in names)

    @staticmethod
    def _stop_process(process: subprocess.Popen[bytes] | None) -> None:
        if process is None or process.poll() is not None:
            return
        # SIGQUIT is a graceful stop for both nginx and php-fpm: workers finish their request.
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_TIMEOUT)

    def stop(self) -> None:
        self._stop_process(self._nginx)
        self._stop_process(self._fpm)
        self._nginx = None
        self._fpm = None

    def __enter__(self) -> WebNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
