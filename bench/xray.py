"""A stand-in for the X-Ray daemon Lambda runs beside a function: a UDP socket on 127.0.0.1
that keeps what the SDK emits, so that a traced cold run can say what tracing recorded (and
that no secret reached a trace)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any


class XRayReceiver:
    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._datagrams: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> XRayReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            with self._lock:
                self._datagrams.append(data.decode("utf-8", "replace"))

    def take(self) -> list[str]:
        time.sleep(0.05)  # UDP from a process that has just exited may still be in flight
        with self._lock:
            taken, self._datagrams = self._datagrams, []
        return taken


def subsegments(datagrams: list[str]) -> list[str]:
    """The subsegments of AWS calls in what the SDK sent: "SSM.ListCommands", ..."""
    calls: list[str] = []

    def walk(entity: dict[str, Any]) -> None:
        if entity.get("namespace") == "aws":
            calls.append(f"{entity.get('name')}.{entity.get('aws', {}).get('operation')}")
        for child in entity.get("subsegments", []):
            walk(child)

    for datagram in datagrams:
        _, _, body = datagram.partition("\n")
        with contextlib.suppress(ValueError):
            walk(json.loads(body))
    return calls
