"""The dispatcher's settings, read once when the container starts: those both functions share,
and its own (docs/design.md, "Configuration contract")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from apcu_clear.command import Notify
from apcu_clear.settings import ConfigError, Settings, matching

# Empty when the stack serves no launch lifecycle hook (template.yaml, WarmPoolHookName).
HOOK_NAME_PATTERN = r"^[A-Za-z0-9\-_/]{0,255}$"
SLACK_USER_ID_PATTERN = r"^[UW][A-Z0-9]{2,20}$"
_SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"
_IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"
# The notifier is a durable function: only a version or an alias invokes it.
_QUALIFIED_FUNCTION_ARN = (
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_$-]{1,128}$"
)


@dataclass(frozen=True)
class Config:
    shared: Settings
    # Where SSM publishes a clear's first command's final status.
    notify: Notify
    # The clear's durable execution is started on this alias of the notifier.
    notifier_alias_arn: str
    warm_pool_hook_name: str
    slack_allowed_users: frozenset[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        shared = Settings.from_env(env)
        topic = matching(env, "NOTIFICATION_TOPIC_ARN", _SNS_TOPIC_ARN, "an SNS topic ARN")
        role = matching(env, "NOTIFICATION_ROLE_ARN", _IAM_ROLE_ARN, "an IAM role ARN")
        alias_is = "the notifier alias's ARN (function:NAME:ALIAS)"
        alias = matching(env, "NOTIFIER_ALIAS_ARN", _QUALIFIED_FUNCTION_ARN, alias_is)
        hook_is = "a lifecycle hook name, or empty"
        hook = matching(env, "WARM_POOL_HOOK_NAME", HOOK_NAME_PATTERN, hook_is)
        listed = env.get("SLACK_ALLOWED_USERS", "").split(",")
        users = frozenset(u.strip() for u in listed if u.strip())
        wrong = sorted(u for u in users if not re.fullmatch(SLACK_USER_ID_PATTERN, u))
        if wrong:
            # A name or an e-mail address would never match a press's user id: say so at the start
            # rather than refuse every press of that person.
            got = ", ".join(repr(u[:40]) for u in wrong[:5])
            why = f"SLACK_ALLOWED_USERS must be comma-separated Slack user ids such as U0123ABCD (not names), got {got}"
            raise ConfigError(why)
        return cls(shared, Notify(topic, role), alias, hook, users)
