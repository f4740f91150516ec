"""Packages and publishes template.yaml's application metadata with the SAM CLI's own code.

Run by tests/stack/test_publish.py with .venv-sam's interpreter (the SAM CLI pins its own
boto3, so it is not in .venv):

    python publish_with_sam_cli.py TEMPLATE [METADATA_KEY_TO_DROP ...]

It does what `sam package` does to the metadata (LicenseUrl and ReadmeUrl become S3
addresses, through a stand-in uploader) and then what `sam publish` does (the SAR
CreateApplication request, answered by botocore's Stubber after botocore has validated it
against the service model). Prints the request as JSON; exits non-zero where `sam publish`
would refuse the metadata.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from samcli.lib.package.code_signer import CodeSigner
from samcli.lib.package.packageable_resources import METADATA_EXPORTS
from samcli.vendor.serverlessrepo import publish_application
from samcli.yamlhelper import yaml_parse

APPLICATION = "AWS::ServerlessRepo::Application"
APPLICATION_ID = "arn:aws:serverlessrepo:us-east-1:123456789012:applications/apcu-fleet-flush"


class _StandInS3Uploader:
    """What the exporters ask of samcli's S3Uploader, without S3."""

    bucket_name = "artifacts"
    prefix = "apcu-fleet-flush"

    def __init__(self) -> None:
        self.uploaded: list[str] = []

    def upload_with_dedup(self, path: str, extension: str | None = None, **_: Any) -> str:
        self.uploaded.append(path)
        return f"s3://{self.bucket_name}/{self.prefix}/{Path(path).name}"


class _Uploaders:
    def __init__(self, s3: _StandInS3Uploader) -> None:
        self.s3 = s3

    def get(self, destination: object) -> _StandInS3Uploader:
        return self.s3


def main(template_path: Path, dropped: list[str]) -> dict[str, Any]:
    template = yaml_parse(template_path.read_text(encoding="utf-8"))
    for key in dropped:
        del template["Metadata"][APPLICATION][key]

    # `sam package`: upload the files the metadata names, put their S3 addresses in place.
    s3 = _StandInS3Uploader()
    for spec in METADATA_EXPORTS:
        metadata = template.get("Metadata", {}).get(spec.metadata_type)
        if metadata is not None:
            for exporter in spec.exporters:
                exporter(_Uploaders(s3), CodeSigner(None, None)).export(
                    spec.metadata_type, metadata, str(template_path.parent)
                )

    # `sam publish`: one CreateApplication call.
    client = boto3.client(
        "serverlessrepo",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # never sent: the Stubber answers
    )
    requests: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.serverlessrepo.CreateApplication",
        lambda params, **_: requests.append(dict(params)),
    )
    with Stubber(client) as stubber:
        stubber.add_response("create_application", {"ApplicationId": APPLICATION_ID})
        result = publish_application(template, sar_client=client)
        stubber.assert_no_pending_responses()
    (request,) = requests
    template_body = request.pop("TemplateBody")
    return {
        "actions": result["actions"],
        "request": request,
        "uploaded": [str(Path(path).relative_to(template_path.parent)) for path in s3.uploaded],
        "templateKeepsApplicationMetadata": APPLICATION in template_body,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve(), sys.argv[2:])))
