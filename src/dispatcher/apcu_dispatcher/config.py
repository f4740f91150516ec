"""The dispatcher's settings, read once from the environment when the container starts: the
settings both functions share, and what only the dispatcher reads (docs/design.md,
"Configuration contract")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from apcu_clear.command import Notify
from apcu_clear.settings import ConfigError, Settings, matching

__all__ = ["Config", "ConfigError"]

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
        return cls(
            shared=Settings.from_env(env),
            notify=Notify(
                topic_arn=matching(
                    env, "NOTIFICATION_TOPIC_ARN", _SNS_TOPIC_ARN, "an SNS topic ARN"
                ),
                role_arn=matching(env, "NOTIFICATION_ROLE_ARN", _IAM_ROLE_ARN, "an IAM role ARN"),
            ),
            notifier_alias_arn=matching(
                env,
                "NOTIFIER_ALIAS_ARN",
                _QUALIFIED_FUNCTION_ARN,
                "the notifier alias's ARN (function:NAME:ALIAS)",
            ),
            warm_pool_hook_name=matching(
                env, "WARM_POOL_HOOK_NAME", HOOK_NAME_PATTERN, "a lifecycle hook name, or empty"
            ),
            slack_allowed_users=_slack_allowed_users(env),
        )


def _slack_allowed_users(env: Mapping[str, str]) -> frozenset[str]:
    users = frozenset(u.strip() for u in env.get("SLACK_ALLOWED_USERS", "").split(",") if u.strip())
    wrong = sorted(u for u in users if not re.fullmatch(SLACK_USER_ID_PATTERN, u))
    if wrong:
        # A name or an e-mail address would never match a press's user id: say so at the start
        # rather than refuse every press of that person.
        raise ConfigError(
            "SLACK_ALLOWED_USERS must be comma-separated Slack user ids such as U0123ABCD "
            f"(not names), got {', '.join(repr(u[:40]) for u in wrong[:5])}"
        )
    return users
