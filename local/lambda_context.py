"""A stand-in for the context object Lambda hands a handler."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from harness import cfn_template


@dataclass
class LocalContext:
    """Lambda's context for one invocation of `function` ("DispatcherFunction" or
    "NotifierFunction"), whose time left counts down from that function's Timeout in
    template.yaml: the notifier checks it before each step, so a shorter one here would
    refuse to post where the deployed function posts."""

    function: str
    function_name: str
    timeout_seconds: float = 0.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.timeout_seconds = self.timeout_seconds or cfn_template.function_timeout(self.function)
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
