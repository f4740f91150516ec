"""A secret's value through Powertools parameters, with why it could not be read.

Both Slack secrets (the webhook URL, the app's token and signing secret) are read this way.
The reason names only the error code: the caller raises its own error outside any except
block, so that no botocore exception, which may carry the request, is chained to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider


def read(provider: SecretsProvider, secret_arn: str, *, max_age: int) -> tuple[Any, str]:
    """(the value, "") or (None, "cannot be read (ResourceNotFoundException)")."""
    try:
        return provider.get(secret_arn, max_age=max_age), ""
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__
        code = (
            cause.response.get("Error", {}).get("Code", "")
            if isinstance(cause, ClientError)
            else ""
        )
        return None, f"cannot be read ({code or type(cause or error).__name__})"
