"""Lambda's two guards that moto 5.2.5 lacks, for the tests of the notifier's alias sync.

moto ignores UpdateAlias's RevisionId ("The RevisionId parameter is not yet implemented",
moto/awslambda/models.py) and keeps an alias's first revision for good; it also ignores
PublishVersion's CodeSha256. Lambda refuses a stale revision with PreconditionFailedException
(412, in its API model's errors of UpdateAlias) and gives an alias a new revision at each
change; it refuses a code hash that is no longer $LATEST's with InvalidParameterValueException
("CodeSHA256 (...) is different from current CodeSHA256 in $LATEST"). install() adds both to
moto's Lambda responder for one test, through moto's own exceptions, so that the answers reach
botocore as Lambda's would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

import pytest
from moto.awslambda.exceptions import InvalidParameterValueException, PreconditionFailedException
from moto.awslambda.responses import LambdaResponse


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    update_alias = LambdaResponse.update_alias
    publish_version = LambdaResponse.publish_version

    def update_alias_guarded(self: LambdaResponse) -> Any:
        # The path is .../functions/<function>/aliases/<alias>, as moto's own parse reads it.
        alias = self.backend.get_alias(
            unquote(self.path.rsplit("/", 2)[-1]), unquote(self.path.rsplit("/")[-3])
        )
        expected = json.loads(self.body).get("RevisionId")
        if expected is not None and expected != alias.revision_id:
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetAlias API to retrieve the latest Revision Id"
            )
        update_alias(self)
        alias.revision_id = str(uuid.uuid4())
        return 201, {"status": 201}, json.dumps(alias.to_json())

    def publish_version_guarded(self: LambdaResponse) -> Any:
        # The path is .../functions/<function>/versions.
        expected = self._get_param("CodeSha256")
        latest = self.backend.get_function(unquote(self.path.split("/")[-2])).code_sha_256
        if expected is not None and expected != latest:
            raise InvalidParameterValueException(
                f"CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST"
            )
        return publish_version(self)

    monkeypatch.setattr(LambdaResponse, "update_alias", update_alias_guarded)
    monkeypatch.setattr(LambdaResponse, "publish_version", publish_version_guarded)
