"""``/api/openapi.json``: OpenAPI 3.1 built from the route table in :mod:`chatapp.routes`."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from chatapp import shapes
from chatapp.routes import ENDPOINTS, Endpoint

__all__ = ["build_openapi", "component_schemas", "shape_named"]

_FILE = {"type": "string", "format": "binary"}  # a download: the file's own bytes, any content type
_SHAPES: dict[str, type[msgspec.Struct]] = {s.__name__: s for s in (*shapes.REQUEST_SHAPES, *shapes.RESPONSE_SHAPES)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def shape_named(name: str) -> type[msgspec.Struct]:
    """The :mod:`chatapp.shapes` Struct a route names; a name without one is an error at start-up."""
    try:
        return _SHAPES[name]
    except KeyError:
        raise LookupError(f"chatapp.shapes has no shape named {name!r} (routes.py names it)") from None


@cache
def component_schemas() -> dict[str, Any]:
    """``components.schemas``: every shape of :mod:`chatapp.shapes` (and the Structs they hold), as msgspec
    describes the types it decodes."""
    _, schemas = msgspec.json.schema_components(_SHAPES.values(), ref_template="#/components/schemas/{name}")
    for schema in schemas.values():
        schema.pop("title", None)  # the component's name says it
        if schema.get("required") == []:
            del schema["required"]
    return schemas


_STATUS_TEXT = {
    400: "Malformed request",
    401: "Not signed in, or the token is invalid, expired or signed out (token_revoked)",
    403: "Signed in, but not allowed",
    404: "Not found (or not yours)",
    409: "Not possible in the chat's current state",
    411: "Content-Length required",
    413: "Too large",
    415: "Unsupported content type",
    422: "Invalid input",
    429: "Rate limited (see Retry-After)",
    503: "Unavailable",
}


def _request_body(endpoint: Endpoint) -> dict[str, Any] | None:
    if endpoint.body is None:
        return None
    shape = shape_named(endpoint.body)
    assert issubclass(shape, shapes.Body), f"{endpoint.body} is not a request body"
    content: dict[str, Any] = {media_type: {"schema": _ref(endpoint.body)} for media_type in shape.media_types}
    if shape.example is not None:
        content[shape.media_types[0]]["example"] = shape.example
    return {"required": not shape.empty_ok, "content": content}


def _operation_id(endpoint: Endpoint) -> str:
    path = endpoint.path.strip("/").replace("/", "_").replace("{", "").replace("}", "").replace(".", "_")
    return f"{endpoint.method.lower()}_{path}"


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.response == "File":
        ok_content: dict[str, Any] = {"*/*": {"schema": _FILE}}
    else:
        ok_schema = _ref(shape_named(endpoint.response).__name__) if endpoint.response else {"type": "object"}
        ok_content = {"application/json": {"schema": ok_schema}}
    for media_type in endpoint.extra.get("also_as", ()):  # the same answer in another format (?format=)
        ok_content[media_type] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {str(endpoint.ok): {"description": "OK", "content": ok_content}}
    if "also" in endpoint.extra:
        responses[str(endpoint.extra["also"])] = {"description": "OK (nothing new created)", "content": ok_content}
    errors = set(endpoint.errors) | {400, 422}
    if endpoint.auth != "none":
        errors |= {401}
    if endpoint.auth in ("visitor", "admin", "manager"):
        errors |= {403}
    if endpoint.body:
        errors |= {413, 415}
    error_content = {"application/json": {"schema": _ref("Error")}}
    for status in sorted(errors):
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Error"), "content": error_content}
    parameters: list[dict[str, Any]] = []
    for name in ("room_id", "reply_id", "user_id", "invite_id", "name", "token"):
        if "{" + name + "}" in endpoint.path:
            schema = {"type": "string"} if name in ("name", "token") else {"type": "integer", "minimum": 1}
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for param in endpoint.query:
        doc: dict[str, Any] = {"name": param.name, "in": "query", "required": False, "schema": param.schema}
        if param.description:
            doc["description"] = param.description
        parameters.append(doc)
    if endpoint.auth != "none" and endpoint.method != "GET":
        parameters.append(
            {
                "name": "X-Socket-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": r"^\d+\.\d+$"},
                "description": "Echo's socket id; that connection does not get its own event back",
            }
        )
    op: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": _operation_id(endpoint),
        "tags": [endpoint.tag],
        "responses": responses,
    }
    if parameters:
        op["parameters"] = parameters
    body = _request_body(endpoint)
    if body:
        op["requestBody"] = body
    if endpoint.auth == "none":
        op["security"] = []
    else:
        op["x-requires"] = endpoint.auth
    return op


def build_openapi(server_url: str = "") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "chatapp",
            "version": "1.0.0",
            "description": "Live support chat on pyreverb. Realtime events go through the Pusher protocol: "
            "channels private-chat.{room_id}, private-admin.chat, private-user.{user_id}, presence-admins.",
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
