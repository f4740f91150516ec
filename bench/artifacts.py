"""The size of what Lambda downloads and unpacks before a cold start: each function's built
artifact (sam build), and the stack's SDK layer (boto3 and botocore, layers/aws-sdk), zipped
(the functions' target: under 1 MiB) and unpacked."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from typing import Any

from bench.deployed import BUILD

ARTIFACT_TARGET = 1024 * 1024
# Lambda's quota on a function's zipped code with its layers: 50 MB uploaded directly.
LAYER_LIMIT = 50 * 1024 * 1024
BUILT = {
    "NotifierFunction": ARTIFACT_TARGET,
    "DispatcherFunction": ARTIFACT_TARGET,
    "AwsSdkLayer": LAYER_LIMIT,
}


def artifacts() -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for name, target in BUILT.items():
        folder = BUILD / name
        if not folder.is_dir():
            sizes[name] = {"error": "not built: run sam build (make bench does)"}
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder))
        parts: Counter[str] = Counter()
        for path in files:
            relative = path.relative_to(folder).parts
            # A layer's top level is python/: name what is inside it.
            parts[
                relative[1] if relative[0] == "python" and len(relative) > 2 else relative[0]
            ] += path.stat().st_size
        pyc = [p for p in files if p.suffix == ".pyc"]
        sizes[name] = {
            "files": len(files),
            "bytes": sum(p.stat().st_size for p in files),
            "parts": dict(parts.most_common(6)),
            "pyc_files": len(pyc),
            "pyc_bytes": sum(p.stat().st_size for p in pyc),
            "zip_bytes": buffer.tell(),
            "target_bytes": target,
            "met": buffer.tell() < target,
        }
    return sizes
