"""Run in the validators' environment (.tools-venv, which has promql-parser): read a JSON list of
PromQL expressions on stdin, parse each, and print {"errors": [...], "names": {expr: [metric names]}}.
Used by test_manifests.py; not a test module itself."""

from __future__ import annotations

import json
import sys

import promql_parser


def main() -> None:
    exprs = json.load(sys.stdin)
    result: dict = {"errors": [], "names": {}}
    for expr in exprs:
        try:
            tree = promql_parser.parse(expr)
        except ValueError as exc:
            result["errors"].append(f"{expr!r}: {exc}")
            continue
        names: list[str] = []

        def visit(node: object, names: list[str] = names) -> None:
            if isinstance(node, promql_parser.VectorSelector) and node.name:
                names.append(node.name)

        promql_parser.walk(tree, visit)
        result["names"][expr] = sorted(set(names))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
