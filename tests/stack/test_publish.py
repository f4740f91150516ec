"""The stack can be published to the AWS Serverless Application Repository with `sam publish`.

The metadata is run through the SAM CLI's own packaging and publishing code (in .venv-sam,
see publish_with_sam_cli.py), so a key `sam publish` ignores or refuses shows here; the
repository's documented constraints, which only the service checks, are asserted directly.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness import cfn_template

REPO = Path(__file__).resolve().parents[2]
SAM_PYTHON = REPO / ".venv-sam" / "bin" / "python"
SCRIPT = Path(__file__).with_name("publish_with_sam_cli.py")
APPLICATION = "AWS::ServerlessRepo::Application"


def metadata() -> dict[str, Any]:
    application = cfn_template.load()["Metadata"][APPLICATION]
    assert isinstance(application, dict)
    return application


def sam_publish(*dropped: str) -> subprocess.CompletedProcess[str]:
    assert SAM_PYTHON.exists(), "make .venv-sam/.installed first (make pytest does)"
    return subprocess.run(
        [str(SAM_PYTHON), str(SCRIPT), str(REPO / "template.yaml"), *dropped],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def pyproject_version() -> str:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    assert isinstance(version, str)
    return version


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    run = sam_publish()
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert isinstance(result, dict)
    return result


def test_sam_publish_sends_every_field_with_the_packaged_licence_and_readme(
    published: dict[str, Any],
) -> None:
    # `sam package` uploads the two local files and puts their S3 addresses in their place.
    assert published["uploaded"] == ["LICENSE", "README.md"]
    expected = {**metadata(), "LicenseUrl": "s3://artifacts/apcu-fleet-flush/LICENSE"}
    expected["ReadmeUrl"] = "s3://artifacts/apcu-fleet-flush/README.md"
    assert published["request"] == expected
    assert published["actions"] == ["CREATE_APPLICATION"]
    # The published template itself carries no publishing metadata.
    assert published["templateKeepsApplicationMetadata"] is False


def test_sam_publish_refuses_metadata_without_an_author() -> None:
    # The same run as above, one required key short: the check above can fail.
    run = sam_publish("Author")
    assert run.returncode != 0
    assert "author properties not provided" in run.stderr


def test_the_metadata_is_plain_values_as_the_repository_requires() -> None:
    # Intrinsic functions are not supported in this metadata (SAM developer guide).
    for key, value in metadata().items():
        if key == "Labels":
            assert all(isinstance(label, str) for label in value)
        else:
            assert isinstance(value, str), f"{key} must be a plain string"


def test_the_metadata_meets_the_repositorys_documented_limits() -> None:
    application = metadata()
    assert set(application) == {
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "Labels",
        "HomePageUrl",
        "SemanticVersion",
        "SourceCodeUrl",
    }
    # Limits from the SAM developer guide's "Metadata section properties" page.
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", application["Name"])
    assert 1 <= len(application["Description"]) <= 256
    assert re.fullmatch(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$", application["Author"])
    assert len(application["Author"]) <= 127
    assert 1 <= len(application["Labels"]) <= 10
    for label in application["Labels"]:
        assert re.fullmatch(r"^[a-zA-Z0-9+\-_:\/@]{1,127}$", label), label
    for url in ("HomePageUrl", "SourceCodeUrl"):
        assert application[url].startswith("https://")


def test_the_licence_and_readme_are_files_of_this_repository_under_5_mb() -> None:
    application = metadata()
    for key in ("LicenseUrl", "ReadmeUrl"):
        path = REPO / application[key]
        assert path.is_file(), f"{key}: {path} does not exist"
        assert path.stat().st_size <= 5 * 1024 * 1024
    licence = (REPO / application["LicenseUrl"]).read_text(encoding="utf-8")
    # The SPDX id and the text agree: MIT-0 is "MIT No Attribution".
    assert application["SpdxLicenseId"] == "MIT-0"
    assert licence.splitlines()[0] == "MIT No Attribution"
    assert "without restriction" in licence


def test_the_published_version_is_the_projects_version_and_its_latest_release() -> None:
    version = metadata()["SemanticVersion"]
    assert version == pyproject_version()
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", version)
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert releases[0] == version, "CHANGELOG.md's latest release is the published version"
    assert re.search(r"^## \[Unreleased\]", changelog, flags=re.MULTILINE)
