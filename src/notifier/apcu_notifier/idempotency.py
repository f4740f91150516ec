"""Post each final status of a command once, with Powertools idempotency on DynamoDB.

SNS and Lambda may both deliver twice (docs/facts.md). The key is the command id and its final
status. A duplicate returns the stored outcome without posting; a duplicate that arrives while
the first is still posting raises IdempotencyAlreadyInProgressError, so Lambda retries it later
and finds the outcome; a post that fails leaves no record, so its retry posts.
Used only when IDEMPOTENCY_TABLE is set; the import stays off the cold path otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

# Long enough to outlast Lambda's async retries (up to 6 h) and SNS redelivery; the table's
# TTL removes the records afterwards.
EXPIRES_AFTER_SECONDS = 24 * 60 * 60
KEY_PREFIX = "apcu-notifier"

Work = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class DeliveryKey:
    command_id: str
    status: str


class Deduplicator:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        expires_after_seconds: int = EXPIRES_AFTER_SECONDS,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        self._config = IdempotencyConfig(
            event_key_jmespath="[command_id, status]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
            response_hook=_mark_duplicate,
        )
        self.client = client
        store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._once: Callable[..., dict[str, Any]] = idempotent_function(
            _run,
            data_keyword_argument="key",
            persistence_store=store,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )

    def register(self, context: LambdaContext) -> None:
        """Let an in-progress record expire with this invocation if it dies mid-post."""
        self._config.register_lambda_context(context)

    def run(self, key: DeliveryKey, work: Work) -> dict[str, Any]:
        return self._once(key=key, work=work)


def _run(*, key: DeliveryKey, work: Work) -> dict[str, Any]:
    return work()


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response
