"""The Powertools layer a deploy uses is the release the tests ran with, and the tools are pinned.

A layer parameter ending in `latest` would give next month's deploy a Powertools that no test
has seen; constraints.txt pins the same release for the tests.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from harness import cfn_template

ROOT = Path(__file__).resolve().parents[2]
_LAYER = re.compile(
    r"^/aws/service/powertools/python/(?P<arch>[a-z0-9_]+)/(?P<python>python3\.\d+)/(?P<version>.+)$"
)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, pinned = line.split("#")[0].strip().partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name).lower()] = pinned
    return pins


def test_the_layer_is_the_powertools_release_the_tests_use() -> None:
    template = cfn_template.load()
    default = template["Parameters"]["PowertoolsLayerArn"]["Default"]
    layer = _LAYER.fullmatch(default)
    assert layer, default
    assert layer["version"] == version("aws-lambda-powertools"), (
        "PowertoolsLayerArn names another Powertools than the tests ran with; "
        "see docs/deploy.md, Upgrading Powertools and the tools"
    )
    function = template["Globals"]["Function"]
    assert layer["arch"] == function["Architectures"][0]
    assert layer["python"] == function["Runtime"]


def test_the_constraints_pin_what_the_tests_run_with() -> None:
    pins = _pins(ROOT / "constraints.txt")
    for package in ("aws-lambda-powertools", "boto3", "moto", "cfn-lint", "aws-sam-translator"):
        assert pins.get(package) == version(package), package
    sam = _pins(ROOT / "constraints-sam.txt")
    assert re.fullmatch(r"\d+\.\d+\.\d+", sam.get("aws-sam-cli", "")), "aws-sam-cli is pinned"
    # Every top-level development requirement has its exact version.
    for line in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0]
            assert re.sub(r"[-_.]+", "-", name).lower() in pins, name
