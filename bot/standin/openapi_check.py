"""Check requests and responses against GitHub's OpenAPI description (rest-openapi-subset.json).

OpenAPI 3.0 schemas are not quite JSON Schema (`nullable`), so they are converted once, then
validated with `jsonschema`; `$ref`s resolve against the document's own `components`.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

SHARED_SPEC = Path(__file__).resolve().parents[3] / "shared" / "github-api" / "rest-openapi-subset.json"
METHODS = ("get", "post", "put", "patch", "delete")


class OperationNotFoundError(LookupError):
    """No operation in the description matches this method and path."""


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes an explicit null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if isinstance(converted.get("type"), str) and not any(
            k in converted for k in ("$ref", "anyOf", "oneOf", "allOf", "enum")
        ):
            converted["type"] = [converted["type"], "null"]
        else:
            return {"anyOf": [converted, {"type": "null"}]}
    return converted


class OpenApi:
    def __init__(self, spec_path: Path = SHARED_SPEC) -> None:
        self.spec = _json_schema(json.loads(Path(spec_path).read_text()))
        self.components = self.spec.get("components", {})
        self._templates = [(template, _template_regex(template)) for template in self.spec["paths"]]

    def operations(self) -> list[tuple[str, str]]:
        """Every (METHOD, template) in the description."""
        return [(m.upper(), t) for t, item in self.spec["paths"].items() for m in item if m in METHODS]

    def find(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The (template, operation) for a concrete path such as /repos/o/r/contents/a/b.yml."""
        path = path.split("?", 1)[0]
        for strict in (True, False):
            for template, (tight, loose) in self._templates:
                item = self.spec["paths"][template]
                if method.lower() in item and (tight if strict else loose).match(path):
                    return template, item[method.lower()]
        raise OperationNotFoundError(f"{method} {path}")

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        _, op = self.find(method, path)
        response = op["responses"].get(str(status)) or op["responses"].get("default")
        if response is None:
            raise OperationNotFoundError(f"{method} {path} has no documented {status} response")
        response = self._deref(response)
        return (response.get("content", {}).get("application/json") or {}).get("schema")

    def request_schema(self, method: str, path: str) -> dict[str, Any] | None:
        _, op = self.find(method, path)
        body = self._deref(op.get("requestBody") or {})
        return (body.get("content", {}).get("application/json") or {}).get("schema")

    def validate_response(self, method: str, path: str, status: int, body: Any) -> None:
        schema = self.response_schema(method, path, status)
        if schema is not None:
            self._validate(schema, body)

    def validate_request(self, method: str, path: str, body: Any) -> None:
        schema = self.request_schema(method, path)
        if schema is None:
            if body not in (None, {}, b""):
                raise jsonschema.ValidationError(f"{method} {path} takes no request body")
            return
        self._validate(schema, body)

    def _validate(self, schema: dict[str, Any], instance: Any) -> None:
        # The root carries `components`, so "#/components/..." references resolve in place.
        jsonschema.Draft7Validator({**schema, "components": self.components}).validate(instance)

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


def _template_regex(template: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Strict: every parameter is one segment. Loose: the last one may span slashes (paths, refs)."""
    tight = re.sub(r"\{[^}]+\}", "[^/]+", template)
    loose = re.sub(r"\{(path|ref|branch|tree_sha)\}$", ".+", template)
    loose = re.sub(r"\{[^}]+\}", "[^/]+", loose)
    return re.compile(f"^{tight}$"), re.compile(f"^{loose}$")


@functools.lru_cache(maxsize=2)
def default_openapi(spec_path: Path = SHARED_SPEC) -> OpenApi:
    return OpenApi(spec_path)


def validate_request(method: str, path: str, body: Any, spec_path: Path = SHARED_SPEC) -> None:
    """Raise `jsonschema.ValidationError` when `body` does not fit the operation's request schema.

    `path` may carry the API prefix (`/api/v3/...`) or not.
    """
    default_openapi(spec_path).validate_request(method, path.removeprefix("/api/v3"), body)


def validate_response(method: str, path: str, status: int, body: Any, spec_path: Path = SHARED_SPEC) -> None:
    default_openapi(spec_path).validate_response(method, path.removeprefix("/api/v3"), status, body)
