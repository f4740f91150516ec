"""moto's server on a free 127.0.0.1 port: the embedded AWS, extended by harness/aws_emulator
(the SSM calls moto lacks) and harness/durable_lambda (Lambda's durable executions).

One server per scenario. moto's server builds each service's routes when that service gets its
first request and keeps them; harness.stack.Stack adds the Lambda routes that reach its durable
runner when it is entered, so the scenario's Stack is entered before the server sees a Lambda
request, and the next scenario, with a runner of its own, gets a server of its own. Every
server shares moto's backends, which are emptied as each one starts.

The functions reach it through AWS_ENDPOINT_URL, set in the environment while it runs: the
only thing that makes their AWS calls local.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from harness import aws_emulator

REGION = aws_emulator.REGION
# How often the server looks for a shutdown: werkzeug's default, half a second, would be
# paid once a scenario.
POLL_SECONDS = 0.02


class EmbeddedAws:
    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Any] = {}

    def __enter__(self) -> EmbeddedAws:
        # moto's server logs every request through werkzeug; the demo prints its own steps.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = make_server(
            "127.0.0.1",
            0,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
        )
        self._thread.start()
        self._reset()
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        return self

    def __exit__(self, *_: object) -> None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "the embedded AWS is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service, region_name=REGION, endpoint_url=self.endpoint
            )
        return self._clients[service]

    def _reset(self) -> None:
        """Empty moto's backends (the last scenario's group, table, commands) and the emulator's
        own state, as moto's server documents it: POST /moto-api/reset."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 (127.0.0.1)
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
        aws_emulator.reset()
