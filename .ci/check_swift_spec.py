"""Checks that the committed spec only uses what swift-openapi-generator handles well,
since this machine has no Swift toolchain to run the generator itself.

The rules (see docs/openapi.md): every operation has a unique operationId; every enum is
a string enum; no allOf wrappers; every optional-but-present field is declared nullable
and required in responses; only JSON, multipart, octet-stream, plain-text and event-stream bodies; no OpenAPI 3.1
type arrays; every $ref resolves; the generator config is present.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
CONFIG = ROOT / "clients" / "swift" / "openapi-generator-config.yaml"
# `text/event-stream`: swift-openapi-generator gives such a body as an `HTTPBody` of bytes,
# which its runtime decodes with `asDecodedServerSentEvents()` (the task events).
SUPPORTED_MEDIA = (
    "application/json",
    "multipart/form-data",
    "application/octet-stream",
    "text/plain",
    "text/event-stream",
)

problems = []


def walk(node, path):
    if isinstance(node, dict):
        if "allOf" in node:
            problems.append(f"{path}: allOf")
        # A server variable's `enum` is a list of strings by definition (it has no `type`).
        if "enum" in node and node.get("type") != "string" and not path.startswith("#/servers/"):
            problems.append(f"{path}: enum of type {node.get('type')!r}")
        if isinstance(node.get("type"), list):
            problems.append(f"{path}: type array (OpenAPI 3.1 style)")
        ref = node.get("$ref")
        if ref is not None:
            target = SPEC
            for part in ref.lstrip("#/").split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if target is None:
                problems.append(f"{path}: unresolved {ref}")
        for key, value in node.items():
            walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, f"{path}/{i}")


walk(SPEC, "#")

ids = set()
operations = 0
for route, item in SPEC["paths"].items():
    for method, op in item.items():
        operations += 1
        op_id = op.get("operationId")
        if not op_id:
            problems.append(f"{method.upper()} {route}: no operationId")
        elif op_id in ids:
            problems.append(f"{method.upper()} {route}: duplicate operationId {op_id}")
        ids.add(op_id)
        for media in list(op.get("requestBody", {}).get("content", {})) + [
            m for r in op.get("responses", {}).values() for m in r.get("content", {})
        ]:
            if not media.startswith(SUPPORTED_MEDIA):
                problems.append(f"{op_id}: media type {media}")

for name, schema in SPEC["components"]["schemas"].items():
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        if prop.get("nullable") and not name.endswith("Request") and field not in required:
            problems.append(f"{name}.{field}: nullable response field not required")

if not CONFIG.exists():
    problems.append(f"missing {CONFIG.relative_to(ROOT)}")

if problems:
    print("swift spec check: problems:")
    for problem in problems:
        print(f"  - {problem}")
    sys.exit(1)
print(f"swift spec check: {operations} operations, {len(SPEC['components']['schemas'])} schemas: ok")
