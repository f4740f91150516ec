"""One version everywhere: the project, the command line and the published stack all say the
version of CHANGELOG.md's latest release, with an Unreleased section above it for what lands
after."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from harness import cfn_template

ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = ROOT / "CHANGELOG.md"


def _latest_release() -> str:
    text = CHANGELOG.read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.MULTILINE)
    assert headings[0] == ("Unreleased", ""), "changes after the release go under Unreleased"
    version, date = headings[1]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version) and date, headings[1]
    # Keep a Changelog's link references: the release and what came after it.
    assert f"\n[{version}]: " in text
    assert re.search(rf"^\[Unreleased\]: \S+/compare/v{re.escape(version)}\.\.\.HEAD$", text, re.M)
    return version


def _toml_version(path: Path) -> str:
    version = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["version"]
    assert isinstance(version, str)
    return version


def test_every_version_is_the_latest_release() -> None:
    release = _latest_release()
    init = (ROOT / "cli" / "apcu_flush" / "__init__.py").read_text(encoding="utf-8")
    cli_version = re.search(r'^__version__ = "([^"]+)"$', init, re.MULTILINE)
    assert cli_version
    metadata = cfn_template.load()["Metadata"]["AWS::ServerlessRepo::Application"]
    found = {
        "pyproject.toml": _toml_version(ROOT / "pyproject.toml"),
        "cli/pyproject.toml": _toml_version(ROOT / "cli" / "pyproject.toml"),
        "cli/apcu_flush/__init__.py": cli_version.group(1),
        "template.yaml SemanticVersion": str(metadata["SemanticVersion"]),
    }
    differ = {where: version for where, version in found.items() if version != release}
    assert not differ, f"CHANGELOG.md's latest release is {release}; these say otherwise: {differ}"
