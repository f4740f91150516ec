"""Says whether the stack's Slack webhook secret is filled, without ever printing its value.

The deploy workflow runs this before it asks for a review of the change set and again before
the gate: while the secret holds the placeholder the stack creates it with, the notifier
refuses to post (src/notifier/apcu_notifier/secret.py), so the gate could only wait out its
timeout. This fails at once instead, saying how to fill the secret.

    python .github/scripts/webhook_secret_state.py --stack apcu-fleet-flush-prod --region ap-northeast-1

Prints one line: "filled", "placeholder" or "no stack yet" (a first deploy creates the secret).
Exit 0 for filled and no stack yet, 1 for the placeholder or when the secret cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

# template.yaml's SlackWebhookSecret SecretString; tests/ci keeps the two equal.
PLACEHOLDER = "REPLACE_ME_WITH_THE_SLACK_WEBHOOK_URL"
OUTPUT = "SlackWebhookSecretArn"
HOW_TO_FILL = (
    "put the Slack incoming webhook URL in it (aws secretsmanager put-secret-value "
    '--secret-id {arn} --secret-string \'{{"url": "https://hooks.slack.com/services/..."}}\'; '
    'docs/deploy.md, "Before the first clear: the Slack webhook"), then re-run this job'
)


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def state(cloudformation: Any, secretsmanager: Any, stack: str) -> tuple[str, str]:
    """("filled" | "placeholder" | "no stack yet", the secret's ARN or "")."""
    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        # CloudFormation answers ValidationError "Stack with id ... does not exist".
        if _code(error) == "ValidationError" and "does not exist" in str(error):
            return "no stack yet", ""
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    arn = outputs.get(OUTPUT, "")
    if not arn:
        return "no stack yet", ""
    value = secretsmanager.get_secret_value(SecretId=arn).get("SecretString", "")
    # Only this comparison ever sees the value; it is neither kept nor printed.
    return ("placeholder" if value.strip() == PLACEHOLDER else "filled"), arn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    session = botocore.session.get_session()
    try:
        found, arn = state(
            session.create_client("cloudformation", region_name=args.region),
            session.create_client("secretsmanager", region_name=args.region),
            args.stack,
        )
    except (ClientError, BotoCoreError) as error:
        # The code only: a message could quote more than this script means to show.
        print(f"::error::cannot read the Slack webhook secret of {args.stack}: {_code(error)}")
        return 1
    print(found)
    if found == "placeholder":
        print(
            f"::error::the Slack webhook secret {arn} still holds the placeholder the stack "
            f"created it with, so no verdict can be posted and the gate would only time out: "
            + HOW_TO_FILL.format(arn=arn)
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
