"""What the functions run with, as the Makefiles make it: each function's artifact and the SDK
layer both use (layers/aws-sdk), pinned as constraints.txt pins the tests' packages.

The artifacts are put together here from the packages the tests run with, as `sam build` would
install them, and then each Makefile's `slim` target, the one that leaves parts out, runs on
them. Each function's module is then imported in an interpreter that sees only the artifact,
the layers and the standard library, as Lambda's runtime would: a part left out that the code
needs, or a package the code imports that nothing ships, fails here rather than at a cold start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from harness import cfn_template
from harness.stack import environment

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(sysconfig.get_paths()["purelib"])
LAYER = ROOT / "layers" / "aws-sdk"
# What `pip install -r requirements.txt` puts in each, by top-level name.
SDK_PACKAGES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"]
FUNCTION_PACKAGES = {
    "dispatcher": ["slack_sdk", "slack"],
    "notifier": ["aws_durable_execution_sdk_python", "slack_sdk", "slack"],
}
# The public Powertools layer, as far as the functions import it.
POWERTOOLS_PACKAGES = ["aws_lambda_powertools", "typing_extensions.py"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, pinned = line.split("#")[0].strip().partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name).lower()] = pinned
    return pins


def _link_or_copy(source: str, target: str) -> None:
    """A hard link where the file system allows one (botocore alone is 33 MB), else a copy;
    `make slim` only removes files, so the tests' own packages are never touched."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _copy(packages: list[str], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for name in packages:
        source = SITE / name
        if source.is_dir():
            shutil.copytree(
                source,
                into / name,
                ignore=shutil.ignore_patterns("__pycache__"),
                copy_function=_link_or_copy,
            )
        else:
            shutil.copy2(source, into / name)


def _make(makefile: Path, target: str, artifacts: Path) -> None:
    subprocess.run(
        ["make", "-s", "-f", str(makefile), target, f"ARTIFACTS_DIR={artifacts}"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _run(code: str, paths: list[Path], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `code` in an interpreter without site-packages, seeing `paths` only; its last line
    of output, read as JSON."""
    preamble = f"import sys, json\nsys.path[:0] = {[str(p) for p in paths]!r}\n"
    done = subprocess.run(
        [sys.executable, "-S", "-c", preamble + code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


@pytest.fixture(scope="module")
def opt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/opt/python as Lambda makes it of the two layers: Powertools', then the SDK's slimmed."""
    layer = tmp_path_factory.mktemp("AwsSdkLayer")
    _copy(SDK_PACKAGES, layer / "python")
    _make(LAYER / "Makefile", "slim", layer)
    _copy(POWERTOOLS_PACKAGES, layer / "python")
    return layer / "python"


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """/var/task of each function: its code, the clear package and its requirements, slimmed."""
    built = {}
    for function, packages in FUNCTION_PACKAGES.items():
        folder = tmp_path_factory.mktemp(function)
        code = ROOT / "src" / function
        shutil.copy2(code / "app.py", folder / "app.py")
        for package in (code / f"apcu_{function}", ROOT / "src" / "clear" / "apcu_clear"):
            shutil.copytree(
                package, folder / package.name, ignore=shutil.ignore_patterns("__pycache__")
            )
        _copy(packages, folder)
        _make(code / "Makefile", "slim", folder)
        built[function] = folder
    return built


# ------------------------------------------------------------------------------ the SDK layer


def test_the_layer_pins_the_sdk_as_the_tests_run_it() -> None:
    layer, tested = _pins(LAYER / "requirements.txt"), _pins(ROOT / "constraints.txt")
    assert set(layer) == {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
    }
    for package, pinned in layer.items():
        assert tested[package] == pinned == version(package), package


def test_the_layers_boto3_is_new_enough_for_the_durable_sdk() -> None:
    boto3 = _pins(LAYER / "requirements.txt")["boto3"]
    floors = [
        Requirement(r)
        for r in requires("aws-durable-execution-sdk-python") or []
        if r.startswith("boto3")
    ]
    assert floors, "the durable SDK names its boto3"
    for floor in floors:
        assert floor.specifier.contains(boto3), (str(floor), boto3)


def test_the_layer_keeps_the_models_of_exactly_the_services_the_functions_call() -> None:
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    (listed,) = re.findall(r"^SERVICES := (.+)$", makefile, flags=re.MULTILINE)
    called = set()
    for path in (ROOT / "src").rglob("*.py"):
        called |= set(
            re.findall(r"\.client\(\s*\"([a-z0-9-]+)\"", path.read_text(encoding="utf-8"))
        )
    # The durable SDK's own client checkpoints the execution (lambda_service.py).
    durable = (SITE / "aws_durable_execution_sdk_python" / "lambda_service.py").read_text(
        encoding="utf-8"
    )
    called |= set(re.findall(r"boto3\.client\(\s*\"([a-z0-9-]+)\"", durable))
    assert set(listed.split()) == called


def test_the_slimmed_layer_makes_every_client_and_knows_the_durable_apis(opt: Path) -> None:
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    (services,) = re.findall(r"^SERVICES := (.+)$", makefile, flags=re.MULTILINE)
    found = _run(
        f"""
import boto3, botocore.exceptions
session = boto3.Session(region_name="us-east-1")
made = [session.client(name).meta.service_model.service_name for name in {services.split()!r}]
invoke = session.client("lambda").meta.service_model.operation_model("Invoke")
try:
    session.client("s3")
    s3 = "made"
except botocore.exceptions.UnknownServiceError:
    s3 = "unknown"
print(json.dumps({{
    "boto3": boto3.__file__, "version": boto3.__version__, "made": made, "s3": s3,
    "invoke": sorted(invoke.input_shape.members),
    "operations": sorted(session.client("lambda").meta.service_model.operation_names),
}}))
""",
        [opt],
    )
    assert str(found["boto3"]).startswith(str(opt))
    assert found["version"] == version("boto3")
    assert len(found["made"]) == len(services.split())  # type: ignore[arg-type]
    # botocore's other models stay out,
    assert found["s3"] == "unknown"
    # and what stays knows the durable APIs: the dispatcher's start of a clear by name, the
    # SDK's checkpoints and the relay's callback.
    assert "DurableExecutionName" in found["invoke"]  # type: ignore[operator]
    for operation in (
        "CheckpointDurableExecution",
        "GetDurableExecutionState",
        "SendDurableExecutionCallbackSuccess",
    ):
        assert operation in found["operations"], operation  # type: ignore[operator]


def test_the_layer_is_built_by_its_makefile_for_the_functions_runtime() -> None:
    resources = cfn_template.load()["Resources"]
    layer = resources["AwsSdkLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "layers/aws-sdk/"
    assert "build-AwsSdkLayer:" in (LAYER / "Makefile").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ the functions

IMPORT_THE_HANDLER = """
import app
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not any(module.__file__.startswith(root) for root in ROOTS)
)
print(json.dumps({
    "handler": callable(app.lambda_handler),
    "outside": outside,
    "has": {name: __import__("importlib").util.find_spec(name) is not None for name in NAMES},
}))
"""


@pytest.mark.parametrize(
    ("function", "ships", "leaves_out"),
    [
        (
            "dispatcher",
            ["slack_sdk.signature", "slack_sdk.web", "slack_sdk.webhook"],
            ["slack_sdk.socket_mode", "slack_sdk.oauth", "slack_sdk.web.async_client", "slack"],
        ),
        (
            "notifier",
            ["aws_durable_execution_sdk_python", "slack_sdk.web", "slack_sdk.webhook"],
            ["slack_sdk.signature", "slack_sdk.socket_mode", "slack_sdk.web.async_client", "slack"],
        ),
    ],
)
def test_each_function_starts_from_its_artifact_and_the_layers_alone(
    task: dict[str, Path], opt: Path, function: str, ships: list[str], leaves_out: list[str]
) -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    roots = [str(task[function]), str(opt), stdlib]
    names = ships + leaves_out
    code = f"ROOTS = {roots!r}\nNAMES = {names!r}\n" + IMPORT_THE_HANDLER
    env = {
        **environment(),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": function,
    }
    started = _run(code, [task[function], opt], env)
    assert started["handler"] is True
    # Every module it loaded came from the artifact, the layers or Python itself.
    assert started["outside"] == []
    has = started["has"]
    assert isinstance(has, dict)
    for name in ships:
        assert has[name], f"{function} must ship {name}"
        # and it imports
        _run(f"import {name}\nprint('{{}}')", [task[function], opt])
    for name in leaves_out:
        assert not has[name], f"{function} ships {name}, which it never imports"
