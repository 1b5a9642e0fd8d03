"""The route table, declared once as data: it builds both Starlette routes and OpenAPI.

Each :class:`Endpoint` names its handler, who may call it and what it accepts, so
``/api/openapi.json`` can never drift from what the server really serves. Who may call
it is not documentation only: :func:`starlette_routes` puts every handler behind its
declared rule (:mod:`chatapp.api.access`), and an endpoint cannot be declared without one.

Outside this table, and public by design: ``/api/openapi.json`` (built *from* this table,
so it cannot be an entry of it) and the pages and assets of :mod:`chatapp.pages` (HTML
shells and static files that hold no data; everything they show comes from the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

from chatapp.api import (
    account,
    admin,
    auth,
    canned,
    chat,
    contacts,
    context,
    hours,
    i18n,
    labels,
    operations,
    prechat,
    ratings,
    realtime,
    reply_address,
    reports,
    routing,
    snooze,
    team,
    verify,
    webpush,
)
from chatapp.api import mail as mail_api
from chatapp.api.access import Auth, Handler, check_rule, guard
from chatapp.i18n import SCOPES

__all__ = ["Endpoint", "Param", "ENDPOINTS", "starlette_routes"]

ID_PARAMS = {"room_id", "reply_id", "user_id", "invite_id", "label_id"}


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # OpenAPI style: /api/chat/rooms/{room_id}
    handler: Handler
    summary: str
    auth: Auth = field(kw_only=True)  # required: none | any | visitor | admin | manager
    body: str | None = None  # the name of a request shape (a chatapp.shapes.Body), decoded by the handler
    query: tuple[Param, ...] = ()
    ok: int = 200
    response: str | None = None  # the name of a response shape in chatapp.shapes, or "File" (raw bytes)
    errors: tuple[int, ...] = ()
    tag: str = "chat"
    # "also": a second success status; "also_as": other media types the same answer comes in
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_rule(self.auth)

    @property
    def starlette_path(self) -> str:
        path = self.path
        for name in ID_PARAMS:
            path = path.replace("{" + name + "}", "{" + name + ":int}")
        return path


PAGE = (
    Param("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
    Param("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
)
HISTORY = (
    Param("before", {"type": "integer", "minimum": 1}, "older page: messages with id < before"),
    Param("after", {"type": "integer", "minimum": 0}, "catch-up: messages with id > after"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
)
FILTERS = ("all", "open", "assigned", "unassigned", "urgent", "unread", "mine", "snoozed", "resolved", "closed")
ROOM_ERRORS = (404,)
STATE_ERRORS = (404, 409)

ENDPOINTS: tuple[Endpoint, ...] = (
    # ------------------------------------------------------------------ service
    Endpoint("GET", "/up", realtime.health, "Health check (database reachable)", auth="none",
             response="Health", errors=(503,), tag="service"),
    Endpoint("GET", "/api/config", realtime.client_config,
             "Public client settings (Echo, VAPID key, limits) and whether anyone can answer now (as "
             "/api/chat/status)", auth="none",
             query=(Param("prefer", {"type": "string", "maxLength": 200},
                          "BCP 47 language tags, best first: the language of status.text"),),
             response="ClientConfig", errors=(422,), tag="service"),
    Endpoint("GET", "/api/i18n", i18n.catalogue,
             "The message catalogue of the best language for 'prefer', and the languages on offer", auth="none",
             query=(Param("prefer", {"type": "string", "maxLength": 200},
                          "BCP 47 language tags, comma-separated, best first (e.g. fr-CA,fr,en); English when none "
                          "is available"),
                    Param("scope", {"type": "string", "enum": list(SCOPES)},
                          "only the keys one client uses (widget: the chat widget's strings; the others: those of "
                          "a part of it loaded on demand, as offline: its offline form's); all when absent")),
             response="Catalogue", errors=(422,), tag="service"),
    Endpoint("POST", "/api/mail/inbound", mail_api.inbound,
             "A reply by e-mail: the raw RFC 822 message (as a mail service's inbound hook posts it; the body, "
             "or the form field email or body-mime), authenticated by CHATAPP_INBOUND_MAIL_SECRET in the "
             "X-Inbound-Secret header or ?secret=; posted as the visitor's message in the conversation its "
             "reply+<token> address or In-Reply-To names, quoted history removed", auth="none", ok=201,
             response="InboundMailResult", errors=(401, 403, 404, 409, 413, 422, 429), extra={"also": 200},
             tag="service"),
    # --------------------------------------------------------------------- auth
    Endpoint("POST", "/api/auth/register", auth.register,
             "Create an account (its e-mail unverified; an address in use answers the same)", auth="none",
             body="Register", ok=201, response="TokenResponse", errors=(403, 429), tag="auth"),
    Endpoint("POST", "/api/auth/login", auth.login, "Sign in with e-mail and password", auth="none",
             body="Login", response="TokenResponse", errors=(401, 429), tag="auth"),
    Endpoint("POST", "/api/auth/guest", auth.guest, "Start an anonymous visitor session", auth="none",
             body="Guest", ok=201, response="TokenResponse", errors=(403, 429), tag="auth"),
    Endpoint("POST", "/api/auth/identity", auth.identity, "Exchange the host site's signed identity for a token",
             auth="none", body="Identity", response="TokenResponse", errors=(401, 403, 429), tag="auth"),
    Endpoint("GET", "/api/auth/me", auth.me, "The signed-in account", auth="any", response="UserEnvelope",
             tag="auth"),
    Endpoint("POST", "/api/auth/logout", account.logout, "Sign out this device (revoke this token)", auth="any",
             response="Revoked", tag="auth"),
    Endpoint("POST", "/api/auth/logout-all", account.logout_all,
             "Sign out everywhere: revoke every token of mine and end my live connections", auth="any",
             response="Revoked", tag="auth"),
    Endpoint("POST", "/api/auth/password", account.change_password,
             "Change my password; signs out every other device and returns a new token for this one", auth="any",
             body="ChangePassword", response="TokenResponse", errors=(400, 409, 422, 429), tag="auth"),
    Endpoint("POST", "/api/auth/email", verify.change_email,
             "Change my e-mail address (my current password proves it is me): unverified until the link mailed to "
             "it is opened; 403 email_managed for host-site accounts; mails limited to 3 an hour", auth="visitor",
             body="ChangeEmail", response="EmailChanged", errors=(400, 409, 429), tag="auth"),
    Endpoint("POST", "/api/auth/email/resend", verify.resend,
             "Mail me a new verification link (3 an hour); 409 no_email, already_verified or mail_off",
             auth="visitor", ok=202, response="VerificationSent", errors=(409, 429), tag="auth"),
    Endpoint("GET", "/api/auth/email/verify", verify.verify_page,
             "The verification link from the mail: marks the address verified once; a page in the account's "
             "language for a browser (Accept: text/html), else JSON; 404 token_unknown, 410 token_used or "
             "token_expired, 409 email_changed or email_taken", auth="none",
             query=(Param("token", {"type": "string", "minLength": 1, "maxLength": 200}, "the link's token"),),
             response="EmailVerified", errors=(404, 409, 410), extra={"also_as": ("text/html",)}, tag="auth"),
    Endpoint("POST", "/api/auth/email/verify", verify.verify_token,
             "Verify my e-mail address with the token of the mailed link (as the link does, as JSON)",
             auth="none", body="VerifyEmail", response="EmailVerified", errors=(404, 409, 410), tag="auth"),
    Endpoint("POST", "/api/auth/locale", i18n.set_locale, "Set my language (one of /api/i18n's 'available')",
             auth="any", body="SetLocale", response="UserEnvelope", errors=(422,), tag="auth"),
    Endpoint("GET", "/api/auth/invites/{token}", team.show_invite,
             "What a team invitation is for (e-mail, name, role); 404 once used or expired", auth="none",
             response="InviteInfo", errors=(404,), tag="auth"),
    Endpoint("POST", "/api/auth/invites/{token}/accept", team.accept_invite,
             "Accept a team invitation: set a password, create the staff account and sign in (the link is used "
             "up)", auth="none", body="AcceptInvite", ok=201, response="TokenResponse", errors=(404, 409, 429),
             tag="auth"),
    # ------------------------------------------------------------------ visitor
    Endpoint("GET", "/api/chat/status", hours.status,
             "Whether anyone can answer now (within business hours and an agent online), as the widget shows it: "
             "the status line in the visitor's language, with the next opening when outside hours; names no one "
             "and is the same for every visitor (Cache-Control: a few seconds)", auth="none",
             query=(Param("prefer", {"type": "string", "maxLength": 200},
                          "BCP 47 language tags, comma-separated, best first; English when none is available"),),
             response="SiteStatus", errors=(422,)),
    Endpoint("GET", "/api/chat/room", chat.get_room, "My current conversation (or null)", auth="visitor",
             response="MaybeRoomEnvelope"),
    Endpoint("POST", "/api/chat/room", chat.open_room, "Get or create my current conversation", auth="visitor",
             body="OpenRoom", response="RoomEnvelope", extra={"also": 201}),
    Endpoint("GET", "/api/chat/rooms", chat.list_rooms,
             "All my conversations, newest first (private notes never count: previews are the visitor's side); "
             "pages by 'before' (keyset: the previous page's meta.next_before) or by 'page'", auth="visitor",
             query=(Param("before", {"type": "integer", "minimum": 1},
                          "the previous page's meta.next_before: my conversations older than it"), *PAGE),
             response="RoomPage", errors=(422,)),
    Endpoint("GET", "/api/chat/rooms/{room_id}", chat.show_room, "One of my conversations", auth="visitor",
             response="RoomEnvelope", errors=ROOM_ERRORS),
    Endpoint("POST", "/api/chat/messages", chat.send_message,
             "Send a message (creates my room on the first one; Idempotency-Key honoured)", auth="visitor",
             body="SendMessage", ok=201, response="SentEnvelope", errors=(404, 409, 429),
             extra={"also": 200}),
    Endpoint("GET", "/api/chat/rooms/{room_id}/messages", chat.messages, "History (before) or catch-up (after)",
             auth="visitor", query=HISTORY, response="MessagePage", errors=ROOM_ERRORS),
    Endpoint("POST", "/api/chat/rooms/{room_id}/typing", chat.typing, "I am typing / stopped typing",
             auth="visitor", body="Typing", response="TypingAck", errors=(404, 409, 429)),
    Endpoint("POST", "/api/chat/rooms/{room_id}/read", chat.mark_read, "Mark support's messages read",
             auth="visitor", response="ReadReceipt", errors=ROOM_ERRORS),
    Endpoint("POST", "/api/chat/rooms/{room_id}/close", chat.close_room, "Close my conversation",
             auth="visitor", response="RoomEnvelope", errors=STATE_ERRORS),
    Endpoint("POST", "/api/chat/rooms/{room_id}/rating", ratings.rate,
             "Rate my resolved or closed conversation 1-5 with an optional comment (CSAT); once: 409 already_rated",
             auth="visitor", body="RateChat", response="RoomEnvelope", ok=201, errors=STATE_ERRORS),
    Endpoint("POST", "/api/chat/rooms/{room_id}/pages", context.page_view,
             "Report the page I am on (address, title, referrer, time zone) while I have this conversation; the "
             "browser and OS are read from User-Agent; the last 50 are kept (409 invalid_state when closed)",
             auth="visitor", body="PageView", ok=201, response="PageRecorded", errors=(404, 409, 422, 429)),
    Endpoint("POST", "/api/chat/rooms/{room_id}/transcript", mail_api.transcript,
             "E-mail me this conversation's transcript (to my account's address; 409 mail_off when e-mail is "
             "not set up)", auth="visitor", ok=202, response="TranscriptQueued", errors=(404, 409, 429)),
    Endpoint("POST", "/api/chat/offline", hours.leave_message,
             "The offline form (name, e-mail, message): my message, in a new chat or my open one, marked left "
             "offline; the address is kept on my account (unless a verified one is there) so replies are "
             "e-mailed; 422 names every bad field ('fields')", auth="visitor", body="OfflineMessage", ok=201,
             response="SentEnvelope", errors=(409, 422, 429)),
    Endpoint("GET", "/api/chat/prechat", prechat.visitor_form,
             "The pre-chat form as the widget shows it to me: whether it is on, whether I sent it already, and the "
             "fields to ask (a signed-in visitor's known name and e-mail left out), labelled in my language",
             auth="visitor",
             query=(Param("prefer", {"type": "string", "maxLength": 200},
                          "BCP 47 language tags, comma-separated, best first: the labels' language"),),
             response="VisitorPrechat", errors=(422,)),
    Endpoint("POST", "/api/chat/prechat", prechat.answer,
             "Send my answers to the pre-chat form: name and e-mail kept on my account (the e-mail unverified unless "
             "a verified one is there), the site's own fields as contact attributes; 422 names every field at "
             "fault ('fields', and 'problems': required, email, number, option, length, checkbox, text, unknown); "
             "409 prechat_off", auth="visitor", body="PrechatAnswers", query=(Param(
                 "prefer", {"type": "string", "maxLength": 200}, "BCP 47 language tags: the answer's labels"),),
             response="VisitorPrechat", errors=(409, 422)),
    Endpoint("GET", "/api/chat/unread", chat.unread, "My unread message count", auth="visitor",
             response="UnreadCount"),
    Endpoint("POST", "/api/chat/upload", chat.upload, "Upload a file (checked by content); returns its URL",
             auth="any", body="Upload", ok=201, response="UploadResult", errors=(404, 409, 411, 413, 415, 429)),
    Endpoint("DELETE", "/api/chat/me", contacts.erase_me,
             "Delete my data: my account, conversations, files and subscriptions; signs me out everywhere",
             auth="visitor", response="Erased"),
    Endpoint("POST", "/api/chat/me/email", reply_address.set_reply_address,
             "Mail me support's replies when I have left: my address, kept unverified (never over a verified one) "
             "and sent its verification link; 409 mail_off when e-mail is not set up", auth="visitor",
             body="ReplyAddress", response="EmailChanged", errors=(409, 422, 429)),
    Endpoint("GET", "/api/chat/files/{name}", chat.download, "Download an attachment (room participants only)",
             auth="any", response="File", errors=(404,)),
    # -------------------------------------------------------------------- admin
    Endpoint("GET", "/api/admin/chat/rooms", admin.rooms, "Rooms by filter, with search and pages", auth="admin",
             query=(Param("filter", {"type": "string", "enum": list(FILTERS), "default": "all"}),
                    Param("q", {"type": "string", "maxLength": 200},
                          "search subject, visitor name and e-mail, messages: every word as a prefix, case and "
                          "accents ignored, most relevant first"),
                    Param("before", {"type": "string", "maxLength": 200},
                          "opaque cursor: the previous page's meta.next_cursor; continues the list after it"),
                    Param("label", {"type": "integer", "minimum": 1},
                          "only chats carrying this label (a label id); with q, searches among them"),
                    *PAGE),
             response="AdminRoomPage", errors=(404,), tag="admin"),
    Endpoint("GET", "/api/admin/chat/rooms/{room_id}", admin.room, "One room with its newest messages",
             auth="admin", response="AdminRoomDetail", errors=ROOM_ERRORS, tag="admin"),
    Endpoint("GET", "/api/admin/chat/rooms/{room_id}/messages", admin.messages, "History or catch-up",
             auth="admin", query=HISTORY, response="MessagePage", errors=ROOM_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/messages", admin.reply, "Reply (assigns me if unassigned)",
             auth="admin", body="Reply", ok=201, response="AdminSentEnvelope", errors=(404, 409, 429),
             extra={"also": 200}, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/notes", admin.note,
             "Write a private note: for support only (never the visitor's), notifying the admins it mentions",
             auth="admin", body="Note", ok=201, response="NoteEnvelope", errors=(404, 409, 429),
             extra={"also": 200}, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/assign", admin.assign, "Assign to me or to another admin",
             auth="admin", body="Assign", response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/unassign", admin.unassign, "Remove the assignee",
             auth="admin", response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/priority", admin.priority, "Set normal or urgent",
             auth="admin", body="Priority", response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/resolve", admin.resolve, "Resolve", auth="admin",
             response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/close", admin.close, "Close", auth="admin",
             response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/reopen", admin.reopen, "Reopen a resolved or closed chat",
             auth="admin", response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/snooze", snooze.snooze,
             "Snooze an open or assigned chat until a UTC time (in the future, at most 90 days ahead; 422 "
             "otherwise) or, with until null, until the visitor's next message: it leaves the active views for "
             "the 'snoozed' filter and returns at that time (to its assignee if available, else through routing)",
             auth="admin", body="Snooze", response="AdminRoomEnvelope", errors=(404, 409, 422), tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/unsnooze", snooze.unsnooze,
             "Wake a snoozed chat now (it stays with its assignee); 409 not_snoozed", auth="admin",
             response="AdminRoomEnvelope", errors=STATE_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/read", admin.mark_read, "Mark the visitor's messages read",
             auth="admin", response="ReadReceipt", errors=ROOM_ERRORS, tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/typing", admin.typing, "Support is typing / stopped",
             auth="admin", body="Typing", response="TypingAck", errors=(404, 409, 429), tag="admin"),
    Endpoint("GET", "/api/admin/chat/stats", admin.stats, "Open, assigned, unassigned, urgent, unread",
             auth="admin", response="StatsEnvelope", tag="admin"),
    Endpoint("GET", "/api/admin/status", operations.status, "Outbox depth and oldest age, delivery counters",
             auth="admin", response="OperatorStatus", tag="admin"),
    Endpoint("GET", "/api/admin/lockouts", admin.lockouts, "Recent sign-in lockouts and back-offs",
             auth="admin", response="LockoutList", tag="admin"),
    Endpoint("GET", "/api/admin/admins", admin.admins, "Support admins and who is online", auth="admin",
             response="AdminList", tag="admin"),
    Endpoint("GET", "/api/admin/agents", routing.team,
             "The team: each agent's availability, status (away with no panel open), active chats and capacity",
             auth="admin", response="AgentList", tag="admin"),
    Endpoint("PUT", "/api/admin/me/availability", routing.set_availability,
             "Set my availability (online, away, busy); online with a panel open takes waiting chats",
             auth="admin", body="SetAvailability", response="AgentEnvelope", tag="admin"),
    Endpoint("PUT", "/api/admin/agents/{user_id}/capacity", routing.set_capacity,
             "Set an agent's capacity: the active chats automatic assignment gives them at most",
             auth="manager", body="SetCapacity", response="AgentEnvelope", errors=(404,), tag="admin"),
    Endpoint("GET", "/api/admin/routing", routing.settings, "Whether automatic assignment is on, and my state",
             auth="admin", response="RoutingEnvelope", tag="admin"),
    Endpoint("PUT", "/api/admin/routing", routing.set_settings,
             "Switch automatic assignment on or off (on: waiting chats are assigned at once)",
             auth="manager", body="SetRouting", response="RoutingEnvelope", tag="admin"),
    Endpoint("GET", "/api/admin/business-hours", hours.show,
             "The site's business hours (null: none set) and what the widget says now", auth="admin",
             response="BusinessHoursEnvelope", tag="admin"),
    Endpoint("PUT", "/api/admin/business-hours", hours.update,
             "Set the business hours: an IANA time zone, [start, end] intervals per weekday, holiday dates",
             auth="manager", body="SetBusinessHours", response="BusinessHoursEnvelope", errors=(422,), tag="admin"),
    Endpoint("DELETE", "/api/admin/business-hours", hours.clear,
             "Remove the business hours: the widget says online whenever an agent is there", auth="manager",
             response="BusinessHoursEnvelope", tag="admin"),
    Endpoint("GET", "/api/admin/prechat", prechat.show,
             "The pre-chat form: on or off, and its fields in order (the owner and admins change it)", auth="admin",
             response="PrechatEnvelope", tag="admin"),
    Endpoint("PUT", "/api/admin/prechat", prechat.update,
             "Set the pre-chat form: on or off; name and e-mail (each optional or required) and at most 10 fields of "
             "the site's own (text, number, select, checkbox), labelled in one or every language, in order",
             auth="manager", body="SetPrechat", response="PrechatEnvelope", errors=(422,), tag="admin"),
    Endpoint("GET", "/api/admin/queue", routing.queue,
             "Chats waiting for an agent, oldest first (the order automatic assignment takes them in)",
             auth="admin", response="QueuePage", tag="admin"),
    Endpoint("GET", "/api/admin/canned-replies", canned.list_replies,
             "The team's canned replies and my personal ones, by code", auth="admin",
             query=(Param("q", {"type": "string", "maxLength": 200},
                          "keep replies whose code or body contains this (case ignored; a leading '/' too)"),),
             response="CannedReplyList", tag="admin"),
    Endpoint("POST", "/api/admin/canned-replies", canned.create_reply,
             "Save a canned reply: team-wide (the owner and admins manage those; an agent gets 403) or personal "
             "(only I see it)",
             auth="admin", body="CannedReplyCreate", ok=201, response="CannedReplyEnvelope", errors=(409,),
             tag="admin"),
    Endpoint("PATCH", "/api/admin/canned-replies/{reply_id}", canned.update_reply,
             "Change a team reply (owner and admins) or one of mine (code, body, scope); another agent's personal "
             "reply is 404",
             auth="admin", body="CannedReplyUpdate", response="CannedReplyEnvelope", errors=(404, 409), tag="admin"),
    Endpoint("DELETE", "/api/admin/canned-replies/{reply_id}", canned.delete_reply,
             "Delete a team reply (owner and admins) or one of mine; another agent's personal reply is 404",
             auth="admin",
             response="Removed", errors=(404,), tag="admin"),
    Endpoint("GET", "/api/admin/labels", labels.list_labels, "The team's labels, by name", auth="admin",
             response="LabelList", tag="admin"),
    Endpoint("POST", "/api/admin/labels", labels.create_label, "Create a label (owner and admins)",
             auth="manager", body="LabelCreate", ok=201, response="LabelEnvelope", errors=(403, 409), tag="admin"),
    Endpoint("PATCH", "/api/admin/labels/{label_id}", labels.update_label,
             "Rename or recolour a label (owner and admins)", auth="manager", body="LabelUpdate",
             response="LabelEnvelope", errors=(403, 404, 409), tag="admin"),
    Endpoint("DELETE", "/api/admin/labels/{label_id}", labels.delete_label,
             "Delete a label (owner and admins); it leaves every chat that carried it", auth="manager",
             response="Removed", errors=(403, 404), tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/{room_id}/labels", labels.add_room_label, "Add a label to the chat",
             auth="admin", body="RoomLabelAdd", response="RoomLabels", errors=(404,), tag="admin"),
    Endpoint("DELETE", "/api/admin/chat/rooms/{room_id}/labels/{label_id}", labels.remove_room_label,
             "Take a label off the chat", auth="admin", response="RoomLabels", errors=(404,), tag="admin"),
    Endpoint("POST", "/api/admin/chat/rooms/bulk", labels.bulk,
             "Assign, label or resolve chats selected in the inbox (at most 100), each on its own; one result per "
             "chat", auth="admin", body="BulkAction", response="BulkResult", errors=(404, 422), tag="admin"),
    Endpoint("GET", "/api/admin/contacts/{user_id}/export", contacts.export_contact,
             "Export a contact's data as a zip: contact.json (account, rooms, messages without private notes, "
             "push endpoints, sessions) and every attachment; recorded in the audit log", auth="manager",
             response="File", errors=(404, 409), tag="admin"),
    Endpoint("DELETE", "/api/admin/contacts/{user_id}", contacts.erase_contact,
             "Erase a contact: account, rooms, messages, files, push subscriptions, sessions, pending events and "
             "search entries; recorded in the audit log (support admin accounts: 409)", auth="manager",
             response="Erased", errors=(404, 409), tag="admin"),
    Endpoint("GET", "/api/admin/audit", contacts.audit_log, "The audit log, newest first (keyset pages)",
             auth="manager",
             query=(Param("before", {"type": "integer", "minimum": 1},
                          "the previous page's meta.next_before: entries older than it"),
                    Param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50})),
             response="AuditPage", errors=(422,), tag="admin"),
    Endpoint("GET", "/api/admin/reports", reports.report,
             "The team report of whole days: chats per day; first response, resolution and queue wait "
             "(median, p90) overall, per agent and per label; format=csv gives the same as a spreadsheet",
             auth="manager",
             query=(Param("from", {"type": "string", "format": "date"}, "first day (default: 29 days before 'to')"),
                    Param("to", {"type": "string", "format": "date"}, "last day, inclusive (default: today)"),
                    Param("tz", {"type": "string", "default": "UTC"}, "IANA time zone the days are counted in"),
                    Param("format", {"type": "string", "enum": ["json", "csv"], "default": "json"})),
             response="ReportEnvelope", errors=(422,), extra={"also_as": ("text/csv",)}, tag="admin"),
    Endpoint("GET", "/api/admin/team", team.members,
             "The team: every staff account with role, availability, last activity and whether it is active; "
             "pending invitations", auth="manager", response="TeamList", tag="team"),
    Endpoint("POST", "/api/admin/team/invites", team.invite,
             "Invite an admin or agent: a one-time link valid 7 days (e-mailed when e-mail is on, and answered)",
             auth="manager", body="TeamInvite", ok=201, response="InviteCreated", errors=(403, 409, 429), tag="team"),
    Endpoint("DELETE", "/api/admin/team/invites/{invite_id}", team.revoke_invite,
             "Withdraw a pending invitation: its link stops working", auth="manager", response="Removed",
             errors=(404,), tag="team"),
    Endpoint("PUT", "/api/admin/team/{user_id}/role", team.set_role,
             "Change a member's role (only the owner changes an admin or makes an owner, which hands ownership "
             "over; nobody changes the owner or themselves)", auth="manager", body="SetStaffRole",
             response="TeamMemberEnvelope", errors=(404,), tag="team"),
    Endpoint("POST", "/api/admin/team/{user_id}/deactivate", team.deactivate,
             "Deactivate a member: their sessions end now and they cannot sign in (not the owner, not myself)",
             auth="manager", response="TeamMemberEnvelope", errors=(404,), tag="team"),
    Endpoint("POST", "/api/admin/team/{user_id}/reactivate", team.reactivate,
             "Let a deactivated member sign in again", auth="manager", response="TeamMemberEnvelope", errors=(404,),
             tag="team"),
    # ----------------------------------------------------------------- realtime
    Endpoint("POST", "/broadcasting/auth", realtime.broadcasting_auth,
             "Sign a private/presence channel subscription (Laravel Echo's endpoint)", auth="any", body="ChannelAuth",
             response="ChannelAuthResult", errors=(403,), tag="realtime"),
    Endpoint("POST", "/broadcasting/user-auth", realtime.broadcasting_user_auth,
             "Sign this socket in as me (pusher:signin), so signing me out everywhere closes it", auth="any",
             body="UserAuth", response="UserAuthResult", tag="realtime"),
    Endpoint("POST", "/api/push/subscriptions", webpush.subscribe,
             "Save this browser's Web Push subscription (push service endpoints only; the oldest past the cap "
             "is replaced)", auth="any", body="PushSubscription", ok=201, response="Subscribed",
             errors=(400, 409, 429), tag="realtime"),
    Endpoint("DELETE", "/api/push/subscriptions", webpush.unsubscribe, "Forget a Web Push subscription",
             auth="any", body="PushUnsubscribe", response="Removed", tag="realtime"),
)


def starlette_routes(endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[Route]:
    """One Starlette route per endpoint, its handler behind the endpoint's auth rule."""
    return [Route(e.starlette_path, guard(e.auth, e.handler), methods=[e.method]) for e in endpoints]
