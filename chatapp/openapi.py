"""``/api/openapi.json``: OpenAPI 3.1 built from the route table in :mod:`chatapp.routes`."""

from __future__ import annotations

from typing import Any

from chatapp.routes import ENDPOINTS, Endpoint

__all__ = ["build_openapi", "SCHEMAS", "REQUEST_BODIES"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        doc["required"] = list(required)
    return doc


_STR = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_ID = {"type": "integer", "minimum": 1}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj(
        {"error": {**_STR, "description": "stable machine-readable code"}, "message": _STR},
        ("error", "message"),
    ),
    "User": _obj(
        {
            "id": _INT,
            "name": _STR,
            "role": {"type": "string", "enum": ["user", "admin", "guest"]},
            "email": {"type": ["string", "null"]},
            "email_verified": {"type": "boolean", "description": "false for sign-ups: anyone can register any address"},
            "external_id": {"type": ["string", "null"]},
            "created_at": _TIME,
            "locale": {"type": ["string", "null"],
                       "description": "the language this person chose (POST /api/auth/locale)"},
        },
        ("id", "name", "role"),
    ),
    "Attachment": _obj(
        {"id": _INT, "room_id": _INT, "name": _STR, "content_type": _STR, "size": _INT, "url": _STR,
         "created_at": _TIME},
        ("id", "url", "content_type", "size"),
    ),
    "Message": _obj(
        {
            "id": _INT,
            "room_id": _INT,
            "kind": {"type": "string", "enum": ["message", "note"],
                     "description": "note: a private note for support only; never in a visitor's route or channel"},
            "mentions": {"type": "array", "items": _INT, "description": "notes only: the admins it mentions"},
            "user_id": {"type": ["integer", "null"]},
            "sender_role": {"type": "string", "enum": ["user", "admin", "system"]},
            "sender_name": {"type": ["string", "null"]},
            "body": _STR,
            "system": {
                "oneOf": [
                    _obj(
                        {"code": {**_STR, "description": "a catalogue key, e.g. chat.resolved"},
                         "params": {"type": "object", "description": "the message's placeholders"}},
                        ("code", "params"),
                    ),
                    {"type": "null"},
                ],
                "description": "system messages: shown as t(code, params) in the reader's language; 'body' is "
                "the English text (and all there is for system messages older than catalogues)",
            },
            "attachment": {"oneOf": [_ref("Attachment"), {"type": "null"}]},
            "read_at": _TIME,
            "created_at": _TIME,
        },
        ("id", "room_id", "sender_role", "body", "created_at"),
    ),
    "Room": _obj(
        {
            "id": _INT,
            "status": {"type": "string", "enum": ["open", "assigned", "resolved", "closed"]},
            "priority": {"type": "string", "enum": ["normal", "urgent"]},
            "subject": _STR,
            "assigned_admin": {"type": ["object", "null"]},
            "last_message_at": _TIME,
            "last_message_preview": _STR,
            "last_message_system": {
                "type": ["object", "null"],
                "description": "the latest message's system code and params when it is a system message (the "
                "preview is its English text): render it in the reader's language, as Message.system",
            },
            "unread_count": _INT,
            "created_at": _TIME,
            "updated_at": _TIME,
            "resolved_at": _TIME,
            "closed_at": _TIME,
            "channel": _STR,
        },
        ("id", "status", "priority", "unread_count", "channel"),
    ),
    "PageMeta": _obj({"page": _INT, "per_page": _INT, "total": _INT, "pages": _INT}),
    "TokenResponse": _obj(
        {"token": _STR, "token_type": {"const": "Bearer"}, "expires_in": _INT, "user": _ref("User"),
         "moved_rooms": _INT},
        ("token", "user"),
    ),
    "UserEnvelope": _obj({"user": _ref("User")}, ("user",)),
    "RoomEnvelope": _obj({"room": _ref("Room"), "created": {"type": "boolean"}}, ("room",)),
    "MaybeRoomEnvelope": _obj({"room": {"oneOf": [_ref("Room"), {"type": "null"}]}}, ("room",)),
    "AdminRoomEnvelope": _obj({"room": _ref("Room")}, ("room",)),
    "RoomPage": _obj({"data": {"type": "array", "items": _ref("Room")}, "meta": _ref("PageMeta")}, ("data", "meta")),
    "InboxPageMeta": _obj(
        {"page": _INT, "per_page": _INT, "total": _INT, "pages": _INT,
         "next_cursor": {"type": ["string", "null"], "description": "pass as 'before' for the next page; "
                         "null at the end and for search results"}},
        ("total", "next_cursor"),
    ),
    "AdminRoomPage": _obj(
        {"data": {"type": "array", "items": _ref("Room")}, "meta": _ref("InboxPageMeta")}, ("data", "meta")
    ),
    "MessagePage": _obj(
        {
            "data": {"type": "array", "items": _ref("Message")},
            "has_more": {"type": "boolean"},
            "first_id": {"type": ["integer", "null"]},
            "last_id": {"type": ["integer", "null"]},
        },
        ("data", "has_more"),
    ),
    "AdminRoomDetail": _obj(
        {"room": _ref("Room"), "messages": _ref("MessagePage"), "typing": {"type": "array"}},
        ("room", "messages", "typing"),
    ),
    "SentEnvelope": _obj(
        {"message": _ref("Message"), "room": _ref("Room"), "created": {"type": "boolean"}},
        ("message", "room", "created"),
    ),
    "AdminSentEnvelope": _obj(
        {"message": _ref("Message"), "room": _ref("Room"), "created": {"type": "boolean"}},
        ("message", "room", "created"),
    ),
    "TypingAck": _obj({"ok": {"type": "boolean"}, "is_typing": {"type": "boolean"}}, ("ok",)),
    "ReadReceipt": _obj(
        {"room_id": _INT, "reader_id": _INT, "reader_role": _STR, "marked": _INT,
         "up_to_id": {"type": ["integer", "null"]},
         "ids": {"type": ["array", "null"], "items": _INT}, "read_at": _STR},
        ("room_id", "marked"),
    ),
    "UnreadCount": _obj({"unread_count": _INT}, ("unread_count",)),
    "UploadResult": _obj({"attachment": _ref("Attachment"), "url": _STR}, ("attachment", "url")),
    "File": {"type": "string", "format": "binary"},
    "Stats": _obj(
        {k: _INT for k in ("open", "assigned", "unassigned", "urgent", "unread_messages", "unread_chats",
                           "resolved", "closed", "mine")},
        ("open", "assigned", "unassigned", "urgent", "unread_messages"),
    ),
    "StatsEnvelope": _obj({"stats": _ref("Stats")}, ("stats",)),
    "AdminList": _obj({"data": {"type": "array", "items": {"type": "object"}}}, ("data",)),
    "Lockout": _obj(
        {"account": _STR, "address": _STR, "kind": {"type": "string", "enum": ["address", "account"]},
         "failures": _INT, "at": _TIME, "until": _TIME},
        ("account", "address", "kind", "failures", "at", "until"),
    ),
    "LockoutList": _obj({"data": {"type": "array", "items": _ref("Lockout")}}, ("data",)),
    "CannedReply": _obj(
        {"id": _INT, "code": {**_STR, "description": "typed after '/' in the composer"},
         "body": {**_STR, "description": "may hold {{visitor.name}} and {{agent.name}}, filled in by the panel"},
         "scope": {"type": "string", "enum": ["team", "personal"]},
         "owner_id": {"type": ["integer", "null"], "description": "the agent a personal reply belongs to"},
         "created_by": {"type": ["integer", "null"]}, "created_at": _TIME, "updated_at": _TIME},
        ("id", "code", "body", "scope"),
    ),
    "NoteEnvelope": _obj({"message": _ref("Message"), "created": {"type": "boolean"}}, ("message", "created")),
    "CannedReplyList": _obj({"data": {"type": "array", "items": _ref("CannedReply")}}, ("data",)),
    "CannedReplyEnvelope": _obj({"reply": _ref("CannedReply")}, ("reply",)),
    "ChannelAuthResult": _obj({"auth": _STR, "channel_data": _STR}, ("auth",)),
    "UserAuthResult": _obj({"auth": _STR, "user_data": _STR}, ("auth", "user_data")),
    "Subscribed": _obj(
        {"subscribed": {"type": "boolean"},
         "replaced": {**_INT, "description": "older subscriptions of mine forgotten to stay within the cap"}},
        ("subscribed", "replaced"),
    ),
    "Removed": _obj({"removed": _INT}, ("removed",)),
    "Revoked": _obj({"revoked": {**_INT, "description": "sessions signed out by this call"}}, ("revoked",)),
    "Health": _obj({"status": _STR}, ("status",)),
    "OperatorStatus": _obj(
        {"outbox": _obj(
            {"feed_seq": {**_INT, "description": "the admin feed's last feed_seq, where an inbox starts counting"},
             "depth": {**_INT, "description": "events not yet delivered to pyreverb"},
             "oldest_age_seconds": {"type": "number", "description": "age of the oldest undelivered event"},
             "head_attempts": _INT, "last_error": {"type": ["string", "null"]},
             "delivered": _INT, "expired": _INT, "rejected": _INT, "max_age_seconds": {"type": "number"}},
            ("depth", "oldest_age_seconds")),
         "hints": {"type": "object"}, "push": {"type": ["object", "null"]}},
        ("outbox",),
    ),
    "Catalogue": _obj(
        {
            "locale": {**_STR, "description": "the catalogue's language (a file name in chatapp/locales)"},
            "messages": {"type": "object", "additionalProperties": _STR,
                         "description": "key -> ICU MessageFormat pattern ({name}, {n, plural, ...})"},
            "available": {"type": "array", "items": _obj({"code": _STR, "name": _STR}, ("code", "name"))},
        },
        ("locale", "messages", "available"),
    ),
    "ClientConfig": _obj(
        {"echo": {"type": "object"}, "vapid_public_key": {"type": ["string", "null"]}, "limits": {"type": "object"},
         "features": {"type": "object"},
         "live_poll_seconds": {"type": "number", "description": "how often an open conversation with a live "
                               "socket checks for missed messages"}},
        ("echo", "limits", "features"),
    ),
}

_BODY_TEXT = {"type": "string", "maxLength": 5000}
_CANNED_FIELDS = {
    "code": {"type": "string", "pattern": r"^/?[\w.-]{1,32}$", "description": "unique in its scope; stored lower-case"},
    "body": {"type": "string", "minLength": 1, "maxLength": 2000},
    "scope": {"type": "string", "enum": ["team", "personal"], "default": "team"},
}
REQUEST_BODIES: dict[str, dict[str, Any]] = {
    "Register": _obj(
        {"email": {"type": "string", "format": "email"}, "password": {"type": "string", "minLength": 8,
                                                                      "maxLength": 256},
         "name": {"type": "string", "minLength": 1, "maxLength": 100}},
        ("email", "password"),
    ),
    "Login": _obj({"email": _STR, "password": _STR}, ("email", "password")),
    "SetLocale": _obj({"locale": {**_STR, "description": "one of /api/i18n's available codes"}}, ("locale",)),
    "ChangePassword": _obj(
        {"current_password": _STR, "new_password": {"type": "string", "minLength": 8, "maxLength": 256}},
        ("current_password", "new_password"),
    ),
    "Guest": _obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}}),
    "Identity": _obj({"identity": {**_STR, "description": "HS256 JWT signed by the host site"}}, ("identity",)),
    "OpenRoom": _obj({"subject": {"type": "string", "maxLength": 200}}),
    "SendMessage": _obj(
        {"body": _BODY_TEXT, "room_id": _ID, "attachment_id": _ID,
         "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 100}},
    ),
    "Reply": _obj(
        {"body": _BODY_TEXT, "attachment_id": _ID,
         "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 100}},
    ),
    "Typing": _obj({"is_typing": {"type": "boolean", "default": True}}),
    "Assign": _obj({"admin_id": _ID, "expected_admin_id": {"type": ["integer", "null"], "minimum": 1}}),
    "Priority": _obj({"priority": {"type": "string", "enum": ["normal", "urgent"]}}, ("priority",)),
    "CannedReplyCreate": _obj(_CANNED_FIELDS, ("code", "body")),
    "Note": _obj(
        {"body": {**_BODY_TEXT, "minLength": 1},
         "mentions": {"type": "array", "items": _ID, "maxItems": 20, "uniqueItems": True,
                      "description": "admins to notify (a toast in their panel, Web Push when offline)"},
         "idempotency_key": {"type": "string", "maxLength": 100}},
        ("body",),
    ),
    "CannedReplyUpdate": _obj(_CANNED_FIELDS),
    "UserAuth": _obj({"socket_id": {"type": "string", "pattern": r"^\d+\.\d+$"}}, ("socket_id",)),
    "ChannelAuth": _obj({"socket_id": {"type": "string", "pattern": r"^\d+\.\d+$"}, "channel_name": _STR},
                        ("socket_id", "channel_name")),
    "PushSubscription": _obj(
        {"endpoint": {"type": "string", "format": "uri"},
         "keys": _obj({"p256dh": _STR, "auth": _STR}, ("p256dh", "auth"))},
        ("endpoint", "keys"),
    ),
    "PushUnsubscribe": _obj({"endpoint": _STR}, ("endpoint",)),
    "Upload": _obj({"file": {"type": "string", "format": "binary"}, "room_id": _ID}, ("file",)),
}

# A realistic request per body, shown by API browsers and sent first by schema-driven fuzzers.
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "SendMessage": {"body": "Bonjour, où en est ma commande ?"},
    "Reply": {"body": "Добрий день! Зараз перевірю."},
    "Typing": {"is_typing": True},
    "Priority": {"priority": "urgent"},
    "Note": {"body": "@Olena this customer was double charged; refund approved", "mentions": [2]},
    "CannedReplyCreate": {"code": "refund", "body": "Hi {{visitor.name}}, your refund is on its way. {{agent.name}}",
                          "scope": "team"},
    "OpenRoom": {"subject": "Livraison"},
}

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
    schema = _ref(endpoint.body)
    if endpoint.body == "Upload":
        return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if endpoint.body in REQUEST_EXAMPLES:
        content["application/json"]["example"] = REQUEST_EXAMPLES[endpoint.body]
    if endpoint.body in ("ChannelAuth", "UserAuth"):
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    optional = "required" not in REQUEST_BODIES[endpoint.body]
    return {"required": not optional, "content": content}


def _operation_id(endpoint: Endpoint) -> str:
    path = endpoint.path.strip("/").replace("/", "_").replace("{", "").replace("}", "").replace(".", "_")
    return f"{endpoint.method.lower()}_{path}"


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    ok_schema = _ref(endpoint.response) if endpoint.response else {"type": "object"}
    ok_content = (
        {"*/*": {"schema": ok_schema}}
        if endpoint.response == "File"
        else {"application/json": {"schema": ok_schema}}
    )
    responses: dict[str, Any] = {str(endpoint.ok): {"description": "OK", "content": ok_content}}
    if "also" in endpoint.extra:
        responses[str(endpoint.extra["also"])] = {"description": "OK (nothing new created)", "content": ok_content}
    errors = set(endpoint.errors) | {400, 422}
    if endpoint.auth != "none":
        errors |= {401}
    if endpoint.auth in ("visitor", "admin"):
        errors |= {403}
    if endpoint.body:
        errors |= {413, 415}
    error_content = {"application/json": {"schema": _ref("Error")}}
    for status in sorted(errors):
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Error"), "content": error_content}
    parameters: list[dict[str, Any]] = []
    for name in ("room_id", "reply_id", "name"):
        if "{" + name + "}" in endpoint.path:
            schema = {"type": "string"} if name == "name" else {"type": "integer", "minimum": 1}
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
            "schemas": {**SCHEMAS, **REQUEST_BODIES},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
