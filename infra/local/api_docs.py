"""Keeps docs/api.md's route table in step with `/openapi.json`: `python -m infra.local.api_docs` rewrites it."""

from __future__ import annotations

import re
import sys
from typing import Any

from infra.local.dynamodb_local import ROOT

DOC = ROOT / "docs" / "api.md"
TABLE = re.compile(r"(<!-- routes:start -->\n)(.*?)(<!-- routes:end -->)", re.S)


def route_table(spec: dict[str, Any]) -> str:
    rows = ["| method | path | operationId |", "| --- | --- | --- |"]
    for path, operations in sorted(spec["paths"].items()):
        for method, op in sorted(operations.items()):
            rows.append(f"| {method.upper()} | `{path}` | `{op['operationId']}` |")
    return "\n".join(rows) + "\n"


def current_spec() -> dict[str, Any]:
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import document

    return document()


def rendered(text: str, spec: dict[str, Any]) -> str:
    return TABLE.sub(lambda m: m.group(1) + route_table(spec) + m.group(3), text)


def main() -> int:
    text = DOC.read_text()
    DOC.write_text(rendered(text, current_spec()))
    print(f"{DOC.relative_to(ROOT)}: route table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
