"""Lists the samconfig.toml keys that no option of their SAM CLI command reads.

Run by tests/stack/test_samconfig.py with .venv-sam's interpreter:

    python samconfig_keys_with_sam_cli.py SAMCONFIG

The SAM CLI ignores a key it does not know, without a word; a misspelt `watch` or
`parameter_overrides` would only show as a sync or deploy that behaves differently. Prints
JSON {"<environment>.<command>": [unknown keys]} for every section of the file.
"""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from pathlib import Path

COMMANDS = {
    "build": "samcli.commands.build.command",
    "deploy": "samcli.commands.deploy.command",
    "sync": "samcli.commands.sync.command",
    "validate": "samcli.commands.validate.validate",
}


def options(command: str) -> set[str]:
    cli = importlib.import_module(COMMANDS[command]).cli
    return {parameter.name for parameter in cli.params if parameter.name}


def main(samconfig: Path) -> dict[str, list[str]]:
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    known = {command: options(command) for command in COMMANDS}
    # [env.global.parameters] applies to every command; each key must serve at least one.
    known["global"] = set().union(*known.values())
    unknown = {}
    for environment, sections in config.items():
        if not isinstance(sections, dict):
            continue  # version = 0.1
        for command, section in sections.items():
            keys = set(section.get("parameters", {}))
            unknown[f"{environment}.{command}"] = sorted(keys - known.get(command, set()))
    return unknown


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
