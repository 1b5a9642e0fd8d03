"""Request and response shapes of the HTTP API, declared once as :class:`msgspec.Struct` types.

Request bodies are decoded straight into these (:func:`chatapp.validation.decode`), so the
limits below are what the server enforces; ``/api/openapi.json`` takes its component schemas
from the same classes (:mod:`chatapp.openapi`), so the description cannot drift from them.

Responses are still written by the models' ``to_json()`` (cheaper than building Structs for
every room of a list); their shapes here are what the description promises, and the tests
decode real responses into them.

Rules a JSON schema cannot say are checked after decoding: strings free of NUL bytes and
unpaired surrogates (every string field, in one place: :func:`chatapp.validation.decode`),
and what needs the server's state or settings (the configured message length, known
locales, push service hosts), which the handlers and services check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from chatapp.validation import MAX_ID

__all__ = [
    "Body",
    "REQUEST_SHAPES",
    "RESPONSE_SHAPES",
]

# ---------------------------------------------------------------------------------- building blocks

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
Time = Annotated[datetime, Meta(tz=True, description="UTC, ISO 8601 with milliseconds")]
IdempotencyKey = Annotated[
    str,
    Meta(max_length=100, pattern=r"^[!-~]*$", extra={"rule": "1 to 100 printable ASCII characters without spaces"},
         description="retries with the same key store one message; empty or absent: the Idempotency-Key header"),
]
SocketId = Annotated[str, Meta(pattern=r"^[0-9]{1,20}\.[0-9]{1,20}$", extra={"rule": "like '1234.5678'"})]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Password = Annotated[str, Meta(min_length=8, max_length=256)]
EmailVerification = Literal["sent", "unavailable"]
CannedCode = Annotated[
    str,
    Meta(max_length=100, extra_json_schema={"pattern": r"^\s*/?[\w.-]{1,32}\s*$"},
         description="unique in its scope; 1 to 32 letters, digits, '-', '_' or '.', stored lower-case"),
]
CannedBody = Annotated[
    str,
    Meta(min_length=1, max_length=2000,
         description="may hold {{visitor.name}} and {{agent.name}}, filled in by the panel"),
]
Scope = Literal["team", "personal"]
MessageText = Annotated[
    str,
    Meta(description="at most CHATAPP_MAX_MESSAGE_LENGTH characters (5000 unless configured; GET /api/config "
         "tells limits.max_message_length); empty only with an attachment"),
]


# ---------------------------------------------------------------------------------- request bodies

class Body(Struct):
    """A request body. Unknown fields are ignored, as a client one version ahead expects."""

    # A realistic request, shown by API browsers and sent first by schema-driven fuzzers.
    example: ClassVar[dict[str, Any] | None] = None
    # An empty request body stands for {} (only shapes whose fields are all optional).
    empty_ok: ClassVar[bool] = False
    media_types: ClassVar[tuple[str, ...]] = ("application/json",)


class Register(Body):
    email: Annotated[str, Meta(extra_json_schema={"format": "email"})]
    password: Password
    name: Name | None = None


class Login(Body):
    email: Annotated[str, Meta(min_length=1)]
    password: Annotated[str, Meta(min_length=1)]


class SetLocale(Body):
    locale: Annotated[str, Meta(description="one of /api/i18n's available codes")]


class ChangePassword(Body):
    current_password: Annotated[str, Meta(min_length=1)]
    new_password: Password


class ChangeEmail(Body):
    example = {"email": "new-address@example.com", "current_password": "my current password"}
    email: Annotated[str, Meta(extra_json_schema={"format": "email"})]
    current_password: Annotated[str, Meta(min_length=1)]


class ReplyAddress(Body):
    """Where support's replies are mailed once I have left (the widget asks after my first message)."""

    example = {"email": "camille@example.com"}
    email: Annotated[str, Meta(max_length=254, extra_json_schema={"format": "email"})]


class VerifyEmail(Body):
    token: Annotated[str, Meta(min_length=1, max_length=200, description="the token of the link in the mail")]


class Guest(Body):
    empty_ok = True
    name: Name | None = None


class Identity(Body):
    identity: Annotated[str, Meta(description="HS256 JWT signed by the host site")]


class OpenRoom(Body):
    empty_ok = True
    example = {"subject": "Livraison"}
    subject: Annotated[str, Meta(max_length=200)] | None = None


class Reply(Body):
    example = {"body": "Добрий день! Зараз перевірю."}
    body: MessageText | None = None
    attachment_id: Id | None = None
    idempotency_key: IdempotencyKey | None = None


class SendMessage(Reply):
    """A visitor's message; without room_id it goes to my current room (created by the first message)."""

    example = {"body": "Bonjour, où en est ma commande ?"}
    room_id: Id | None = None


class Note(Body):
    example = {"body": "@Olena this customer was double charged; refund approved", "mentions": [2]}
    body: MessageText | None = None
    mentions: Annotated[
        list[Id],
        Meta(max_length=20, extra_json_schema={"uniqueItems": True},
             description="admins to notify (a toast in their panel, Web Push when offline)"),
    ] | None = None
    idempotency_key: IdempotencyKey | None = None


class Typing(Body):
    empty_ok = True
    example = {"is_typing": True}
    is_typing: bool = True


Availability = Literal["online", "away", "busy"]


class SetAvailability(Body):
    availability: Availability


class SetCapacity(Body):
    capacity: Annotated[int, Meta(ge=0, le=100)]


class SetRouting(Body):
    auto_assign: bool


class Assign(Body):
    """Assign to admin_id (default: the caller) if the assignee is still expected_admin_id."""

    empty_ok = True
    admin_id: Id | None = None
    expected_admin_id: Annotated[Id | None, Meta(description="absent or null: nobody")] = None


class Priority(Body):
    example = {"priority": "urgent"}
    priority: Literal["normal", "urgent"]


class Snooze(Body):
    example = {"until": "2026-12-07T08:00:00.000Z"}
    until: Annotated[
        Time | None,
        Meta(description="when the chat wakes (with its time zone; in the future, at most 90 days ahead); null: "
             "when the visitor next writes"),
    ]


class RateChat(Body):
    example = {"score": 5, "comment": "Quick and kind, thank you"}
    score: Annotated[int, Meta(ge=1, le=5, description="1 (bad) to 5 (great)")]
    comment: Annotated[str, Meta(max_length=1000, description="optional")] = ""


WebAddress = Annotated[str, Meta(max_length=2048, description="an absolute http(s) URL, at most 2048 characters")]


class PageView(Body):
    example = {"url": "https://shop.example/cart", "title": "Your cart", "referrer": "https://www.example.org/",
               "tz": "Europe/Kyiv"}
    url: WebAddress
    title: Annotated[str, Meta(max_length=300, description="the page's title")] = ""
    referrer: Annotated[str, Meta(max_length=2048, description="document.referrer: empty or an http(s) URL")] = ""
    tz: Annotated[str, Meta(max_length=64, description="the browser's IANA time zone, e.g. Europe/Kyiv")] = ""
    language: Annotated[
        str, Meta(max_length=35, description="the widget's language (BCP 47); absent: the Accept-Language header's")
    ] = ""


class CannedReplyCreate(Body):
    example = {"code": "refund", "body": "Hi {{visitor.name}}, your refund is on its way. {{agent.name}}",
               "scope": "team"}
    code: CannedCode
    body: CannedBody
    scope: Scope = "team"


class CannedReplyUpdate(Body):
    """What it leaves out stays as it was."""

    code: CannedCode | UnsetType = UNSET
    body: CannedBody | UnsetType = UNSET
    scope: Scope | UnsetType = UNSET


LabelName = Annotated[str, Meta(min_length=1, max_length=40, description="unique, case ignored; 1 to 40 characters")]
LabelColor = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$", extra={"rule": "#rrggbb"}, description="e.g. #2f80ed")]


class LabelCreate(Body):
    example = {"name": "Billing", "color": "#2f80ed"}
    name: LabelName
    color: LabelColor


class LabelUpdate(Body):
    """What it leaves out stays as it was."""

    example = {"color": "#eb5757"}
    name: LabelName | UnsetType = UNSET
    color: LabelColor | UnsetType = UNSET


class RoomLabelAdd(Body):
    example = {"label_id": 1}
    label_id: Id


class BulkAction(Body):
    """One action on chats selected in the inbox, each changed on its own."""

    example = {"room_ids": [12, 15], "action": "label", "label_id": 1}
    room_ids: Annotated[list[Id], Meta(min_length=1, max_length=100)]
    action: Literal["assign", "label", "resolve"]
    admin_id: Annotated[Id | None, Meta(description="assign: the agent who gets the chats")] = None
    label_id: Annotated[Id | None, Meta(description="label: the label added to the chats")] = None


StaffRole = Literal["owner", "admin", "agent"]


class TeamInvite(Body):
    example = {"email": "olena@support.example", "name": "Olena", "role": "agent"}
    email: Annotated[str, Meta(extra_json_schema={"format": "email"})]
    name: Name | None = None
    role: Literal["admin", "agent"] = "agent"


class SetStaffRole(Body):
    """owner: hands ownership over (only the owner; the caller becomes an admin)."""

    role: StaffRole


class AcceptInvite(Body):
    password: Password
    name: Annotated[Name | None, Meta(description="absent: the name the invitation was made with")] = None


class UserAuth(Body):
    media_types = ("application/json", "application/x-www-form-urlencoded")
    socket_id: SocketId


class ChannelAuth(UserAuth):
    channel_name: Annotated[str, Meta(min_length=1)]


class PushKeys(Struct):
    p256dh: Annotated[str, Meta(max_length=200, description="base64url, 65 bytes")]
    auth: Annotated[str, Meta(max_length=200, description="base64url, 16 bytes")]


class PushSubscription(Body):
    """A browser's PushSubscription.toJSON()."""

    endpoint: Annotated[str, Meta(max_length=2000, extra_json_schema={"format": "uri"})]
    keys: PushKeys


class PushUnsubscribe(Body):
    endpoint: str


class Upload(Body):
    media_types = ("multipart/form-data",)
    file: Annotated[str, Meta(extra_json_schema={"format": "binary"})]
    room_id: Id | None = None


class OfflineMessage(Body):
    """The offline form: kept as the visitor's message; the e-mail address on their account."""

    example = {"name": "Camille", "email": "camille@example.com", "message": "Pouvez-vous me rappeler ?"}
    name: Annotated[str, Meta(max_length=100, description="1 to 100 characters")]
    email: Annotated[str, Meta(max_length=254, extra_json_schema={"format": "email"})]
    message: MessageText


Clock = Annotated[str, Meta(pattern=r"^[0-9]{2}:[0-9]{2}$", extra={"rule": "HH:MM, 00:00 to 24:00"})]


class SetBusinessHours(Body):
    """The site's schedule: wall-clock intervals per weekday in one IANA zone, and closed dates."""

    example = {"time_zone": "Europe/Paris", "week": {"mon": [["09:00", "12:00"], ["13:00", "17:30"]],
               "sat": [["10:00", "14:00"]]}, "holidays": ["2026-12-25"]}
    time_zone: Annotated[str, Meta(min_length=1, max_length=64, description="IANA, e.g. Europe/Paris")]
    week: Annotated[
        dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
             Annotated[list[Annotated[list[Clock], Meta(min_length=2, max_length=2)]], Meta(max_length=6)]],
        Meta(description="weekday -> [start, end] pairs, end after start (24:00: until midnight); a day left "
             "out is closed"),
    ]
    holidays: Annotated[
        list[Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]],
        Meta(max_length=366, description="dates (YYYY-MM-DD, in the site's zone) closed all day"),
    ] = []


# ---------------------------------------------------------------------------------- responses

class Error(Struct):
    error: Annotated[str, Meta(description="stable machine-readable code")]
    message: str
    field: Annotated[str, Meta(description="the request field at fault")] | UnsetType = UNSET


class User(Struct):
    id: int
    name: str
    role: Literal["user", "admin", "guest"]
    email: str | None = None
    email_verified: Annotated[bool, Meta(description="false for sign-ups: anyone can register any address")] | \
        UnsetType = UNSET
    external_id: str | None = None
    created_at: Time | None = None
    locale: Annotated[str | None, Meta(description="the language this person chose (POST /api/auth/locale)")] = None
    staff_role: Annotated[StaffRole | None, Meta(description="support staff's role in the team; null for visitors")] \
        | UnsetType = UNSET


class Attachment(Struct):
    id: int
    url: str
    content_type: str
    size: int
    room_id: int | UnsetType = UNSET
    name: str | UnsetType = UNSET
    created_at: Time | None = None


class SystemText(Struct):
    code: Annotated[str, Meta(description="a catalogue key, e.g. chat.resolved")]
    params: Annotated[dict[str, Any], Meta(description="the message's placeholders")]


class Message(Struct):
    id: int
    room_id: int
    sender_role: Literal["user", "admin", "system"]
    body: str
    created_at: Time | None
    kind: Annotated[
        Literal["message", "note"],
        Meta(description="note: a private note for support only; never in a visitor's route or channel"),
    ] | UnsetType = UNSET
    mentions: Annotated[list[int], Meta(description="notes only: the admins it mentions")] | UnsetType = UNSET
    user_id: int | None = None
    sender_name: str | None = None
    system: Annotated[
        SystemText | None,
        Meta(description="system messages: shown as t(code, params) in the reader's language; 'body' is the "
             "English text (and all there is for system messages older than catalogues)"),
    ] = None
    attachment: Attachment | None = None
    read_at: Time | None = None


class AssignedAdmin(Struct):
    id: int
    name: str | None = None


class RoomRating(Struct):
    score: Annotated[int, Meta(ge=1, le=5)]
    comment: str | None
    rated_at: Time | None


class RoomSnooze(Struct):
    since: Time
    until: Annotated[Time | None, Meta(description="when it wakes; null: when the visitor next writes")]


class Room(Struct):
    id: int
    status: Literal["open", "assigned", "resolved", "closed"]
    priority: Literal["normal", "urgent"]
    unread_count: int
    channel: str
    subject: str | UnsetType = UNSET
    assigned_admin: AssignedAdmin | None = None
    last_message_at: Time | None = None
    last_message_preview: str | None = None
    last_message_system: Annotated[
        SystemText | None,
        Meta(description="the latest message's system code and params when it is a system message (the preview "
             "is its English text): render it in the reader's language, as Message.system"),
    ] = None
    created_at: Time | None = None
    updated_at: Time | None = None
    resolved_at: Time | None = None
    closed_at: Time | None = None
    user: Annotated[dict[str, Any], Meta(description="admins only: the visitor")] | UnsetType = UNSET
    left_offline: Annotated[
        bool, Meta(description="left through the offline form while nobody could answer")
    ] | UnsetType = UNSET
    labels: Annotated[list[int], Meta(description="admins only: the chat's label ids")] | UnsetType = UNSET
    rating: Annotated[
        RoomRating | None, Meta(description="the visitor's satisfaction rating; null: not rated (yet)")
    ] | UnsetType = UNSET
    own_read: Annotated[
        bool,
        Meta(description="admins only: unread_count is this agent's own (they have read the chat); false: the "
             "team's, the visitor's messages no agent has read"),
    ] | UnsetType = UNSET
    snooze: Annotated[
        RoomSnooze | None, Meta(description="admins only: snoozed since when, until when; null: not snoozed")
    ] | UnsetType = UNSET


class PageMeta(Struct):
    page: int | UnsetType = UNSET
    per_page: int | UnsetType = UNSET
    total: int | UnsetType = UNSET
    pages: int | UnsetType = UNSET
    next_before: Annotated[
        int | None, Meta(description="pass as 'before' for the next (older) page; null on the last page")
    ] | UnsetType = UNSET


class TokenResponse(Struct):
    token: str
    user: User
    token_type: Literal["Bearer"] | UnsetType = UNSET
    expires_in: int | UnsetType = UNSET
    moved_rooms: int | UnsetType = UNSET
    email_verification: Annotated[
        EmailVerification, Meta(description="sign-up: sent, the link is on its way; unavailable: e-mail is off here")
    ] | UnsetType = UNSET


class UserEnvelope(Struct):
    user: User


class RoomEnvelope(Struct):
    room: Room
    created: bool | UnsetType = UNSET


class MaybeRoomEnvelope(Struct):
    room: Room | None
    rooms: Annotated[int, Meta(description="how many conversations I have had, this one included")] | UnsetType = UNSET


class AdminRoomEnvelope(Struct):
    room: Room


class RoomPage(Struct):
    data: list[Room]
    meta: PageMeta


class InboxPageMeta(Struct):
    total: int
    next_cursor: Annotated[
        str | None, Meta(description="pass as 'before' for the next page; null at the end and for search results")
    ]
    page: int | UnsetType = UNSET
    per_page: int | UnsetType = UNSET
    pages: int | UnsetType = UNSET


class AdminRoomPage(Struct):
    data: list[Room]
    meta: InboxPageMeta


class MessagePage(Struct):
    data: list[Message]
    has_more: bool
    first_id: int | None = None
    last_id: int | None = None


class EarlierRoom(Struct):
    """One of the contact's other conversations, for the details pane."""

    id: int
    status: Literal["open", "assigned", "resolved", "closed"]
    subject: str
    created_at: Time
    last_message_at: Time | None
    last_message_preview: str


class VisitedPage(Struct):
    url: str
    title: str
    viewed_at: Time


class FirstPage(Struct):
    url: str
    title: str


class VisitContext(Struct):
    """Where the visitor is: reported by the widget, browser and OS read from the User-Agent by the server."""

    first_page: FirstPage | None
    referrer: str | None
    language: str | None
    time_zone: str | None
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    pages: Annotated[list[VisitedPage], Meta(description="this chat's page trail, newest first (the last 50)")] = []
    attributes: Annotated[
        dict[str, str | int | float | bool],
        Meta(description="the host site's custom attributes of the contact (identity token's 'attributes')"),
    ] = {}


class PageRecorded(Struct):
    page: VisitedPage


class AdminRoomDetail(Struct):
    room: Room
    messages: MessagePage
    typing: list[Any]
    earlier: Annotated[list[EarlierRoom], Meta(description="the contact's other conversations, newest first (20)")]
    prechat: Annotated[list[PrechatAnswer], Meta(description="the contact's answers to the pre-chat form's own "
                                                 "fields, in the form's order")]
    context: Annotated[VisitContext, Meta(description="where the visitor is: browser, pages, site attributes")]


class SentEnvelope(Struct):
    message: Message
    room: Room
    created: bool


class AdminSentEnvelope(SentEnvelope):
    pass


class TypingAck(Struct):
    ok: bool
    is_typing: bool | UnsetType = UNSET


class ReadReceipt(Struct):
    room_id: int
    marked: int
    reader_id: int | UnsetType = UNSET
    reader_role: str | UnsetType = UNSET
    up_to_id: int | None = None
    ids: list[int] | None = None
    read_at: str | UnsetType = UNSET


class UnreadCount(Struct):
    unread_count: int


class UploadResult(Struct):
    attachment: Attachment
    url: str


class Stats(Struct):
    open: int
    assigned: int
    unassigned: int
    urgent: int
    unread_messages: int
    unread_chats: int | UnsetType = UNSET
    snoozed: Annotated[
        int, Meta(description="snoozed chats (not counted as open, assigned or unassigned)")
    ] | UnsetType = UNSET
    resolved: int | UnsetType = UNSET
    closed: int | UnsetType = UNSET
    mine: int | UnsetType = UNSET


class StatsEnvelope(Struct):
    stats: Stats


class AdminList(Struct):
    data: list[dict[str, Any]]


class Agent(Struct):
    id: int
    name: str
    availability: Annotated[Availability, Meta(description="as chosen")]
    status: Annotated[Availability, Meta(description="what routing counts: away while no panel of theirs is open")]
    capacity: int
    active: Annotated[int, Meta(description="active chats assigned to them")]
    role: str | UnsetType = UNSET
    online: Annotated[bool | None, Meta(description="a panel open (presence-admins); null: unknown")] = None
    last_assigned_at: Time | None = None


class AgentEnvelope(Struct):
    agent: Agent


class AgentList(Struct):
    data: list[Agent]


class RoutingSettings(Struct):
    auto_assign: bool


class RoutingEnvelope(Struct):
    routing: RoutingSettings
    me: dict[str, Any] | None = None


class QueueMeta(Struct):
    total: int


class QueuePage(Struct):
    data: Annotated[list[dict[str, Any]], Meta(description="rooms, oldest first")]
    meta: QueueMeta


class Erased(Struct):
    erased: Annotated[
        dict[str, int],
        Meta(description="what was removed, by kind: rooms, messages, attachments, push_subscriptions, sessions, "
             "outbox_rows"),
    ]


class AuditActor(Struct):
    role: str
    id: int | None = None
    name: str | None = None


class AuditTarget(Struct):
    type: str
    id: int | None = None


class AuditEntry(Struct):
    id: int
    actor: AuditActor
    action: Annotated[str, Meta(description="e.g. contact.export, contact.erase")]
    target: AuditTarget
    details: dict[str, Any]
    created_at: Time | None


class AuditPageMeta(Struct):
    next_before: Annotated[int | None, Meta(description="pass as 'before' for the next page; null at the end")]


class AuditPage(Struct):
    data: list[AuditEntry]
    meta: AuditPageMeta


class ReportTiming(Struct):
    count: Annotated[int, Meta(description="chats with this time")]
    median_s: Annotated[float | None, Meta(description="seconds; null when no chat has this time")]
    p90_s: Annotated[float | None, Meta(description="90th percentile (nearest rank), seconds")]


class ReportCsat(Struct):
    asked: Annotated[int, Meta(description="chats resolved or closed: the widget asked for a rating")]
    rated: int
    average: Annotated[float | None, Meta(description="1 to 5; null when none was rated")]
    answer_rate: Annotated[float | None, Meta(description="rated / asked, 0 to 1")]


class ReportFigures(Struct):
    conversations: int
    first_response: ReportTiming
    resolution: ReportTiming
    queue_wait: ReportTiming
    csat: ReportCsat


class ReportDay(Struct):
    date: Annotated[str, Meta(description="YYYY-MM-DD in the report's time zone")]
    conversations: int


class ReportAgent(ReportFigures):
    id: Annotated[int | None, Meta(description="the current assignee; null: unassigned chats")]
    name: str | None


class ReportLabel(ReportFigures):
    id: int
    name: str
    color: str


class Report(Struct, rename={"start": "from", "end": "to"}):
    start: Annotated[str, Meta(description="first day, YYYY-MM-DD")]
    end: Annotated[str, Meta(description="last day, inclusive")]
    tz: str
    per_day: list[ReportDay]
    overall: ReportFigures
    agents: list[ReportAgent]
    labels: list[ReportLabel]


class ReportEnvelope(Struct):
    report: Report


class EmailVerified(Struct):
    verified: Literal[True]
    email: str
    user_id: int


class VerificationSent(Struct):
    sent: Literal[True]
    to: Annotated[str, Meta(description="the account's e-mail address")]


class EmailChanged(Struct):
    user: User
    email_verification: Annotated[
        EmailVerification | Literal["verified"],
        Meta(description="sent: a link to the new address is on its way; unavailable: e-mail is off here; "
             "verified: the address was this one already, verified"),
    ]


class TranscriptQueued(Struct):
    queued: bool
    mail_id: int
    to: Annotated[str, Meta(description="the account's e-mail address")]


class InboundMailResult(Struct):
    """Posted (room_id, message_id, created), or left out (ignored: auto_reply, with 202)."""

    room_id: int | UnsetType = UNSET
    message_id: int | UnsetType = UNSET
    created: bool | UnsetType = UNSET
    ignored: str | UnsetType = UNSET


class Lockout(Struct):
    account: str
    address: str
    kind: Literal["address", "account"]
    failures: int
    at: Time | None
    until: Time | None


class LockoutList(Struct):
    data: list[Lockout]


class CannedReply(Struct):
    id: int
    code: Annotated[str, Meta(description="typed after '/' in the composer")]
    body: Annotated[str, Meta(description="may hold {{visitor.name}} and {{agent.name}}, filled in by the panel")]
    scope: Scope
    owner_id: Annotated[int | None, Meta(description="the agent a personal reply belongs to")] = None
    created_by: int | None = None
    created_at: Time | None = None
    updated_at: Time | None = None


class NoteEnvelope(Struct):
    message: Message
    created: bool


class CannedReplyList(Struct):
    data: list[CannedReply]


class CannedReplyEnvelope(Struct):
    reply: CannedReply


class ChannelAuthResult(Struct):
    auth: str
    channel_data: str | UnsetType = UNSET


class UserAuthResult(Struct):
    auth: str
    user_data: str


class Subscribed(Struct):
    subscribed: bool
    replaced: Annotated[int, Meta(description="older subscriptions of mine forgotten to stay within the cap")]


class Removed(Struct):
    removed: int


class Label(Struct):
    id: int
    name: str
    color: Annotated[str, Meta(description="#rrggbb")]
    created_by: int | None = None
    created_at: Time | None = None
    updated_at: Time | None = None


class LabelList(Struct):
    data: list[Label]


class LabelEnvelope(Struct):
    label: Label


class RoomLabels(Struct):
    room_id: int
    labels: Annotated[list[int], Meta(description="the chat's label ids, after the change")]


class BulkOutcome(Struct):
    room_id: int
    ok: bool
    error: Annotated[str | None, Meta(description="why this chat was not changed (an error code)")] = None
    message: str | None = None


class BulkResult(Struct):
    results: list[BulkOutcome]


class Revoked(Struct):
    revoked: Annotated[int, Meta(description="sessions signed out by this call")]


class Health(Struct):
    status: str


class OutboxStatus(Struct):
    depth: Annotated[int, Meta(description="events not yet delivered to pyreverb")]
    oldest_age_seconds: Annotated[float, Meta(description="age of the oldest undelivered event")]
    feed_seq: Annotated[
        int, Meta(description="the admin feed's last feed_seq, where an inbox starts counting")
    ] | UnsetType = UNSET
    head_attempts: int | UnsetType = UNSET
    last_error: str | None = None
    delivered: int | UnsetType = UNSET
    expired: int | UnsetType = UNSET
    rejected: int | UnsetType = UNSET
    max_age_seconds: float | UnsetType = UNSET


class OperatorStatus(Struct):
    outbox: OutboxStatus
    hints: dict[str, Any] | UnsetType = UNSET
    push: dict[str, Any] | None = None


class Language(Struct):
    code: str
    name: str


class Catalogue(Struct):
    locale: Annotated[str, Meta(description="the catalogue's language (a file name in chatapp/locales)")]
    messages: Annotated[
        dict[str, str], Meta(description="key -> ICU MessageFormat pattern ({name}, {n, plural, ...})")
    ]
    available: list[Language]


class TeamMember(Struct):
    id: int
    name: str
    email: str | None
    role: StaffRole
    availability: Literal["online", "away", "busy"] | None
    created_at: Time | None
    last_active_at: Annotated[Time | None, Meta(description="the last signed-in request, to the minute")]
    deactivated_at: Time | None
    active: bool


class TeamInvitation(Struct):
    id: int
    email: str
    name: str
    role: Literal["admin", "agent"]
    invited_by: int | None
    created_at: Time
    expires_at: Time


class TeamList(Struct):
    data: list[TeamMember]
    invites: Annotated[list[TeamInvitation], Meta(description="not yet accepted and not expired, newest first")]


class TeamMemberEnvelope(Struct):
    member: TeamMember


class InviteCreated(Struct):
    invite: TeamInvitation
    link: Annotated[str, Meta(description="the one-time link; shown once, only its hash is stored")]
    mailed: Annotated[bool, Meta(description="true when it was also e-mailed (e-mail on)")]


class InviteInfo(Struct):
    invite: TeamInvitation


class BusinessHours(Struct):
    time_zone: str
    week: Annotated[dict[str, list[list[str]]], Meta(description="every weekday, mon to sun: [start, end] pairs")]
    holidays: list[str]


class SiteStatus(Struct):
    """What the widget shows: nobody's name, only whether someone can answer and when."""

    status: Annotated[Literal["online", "away"], Meta(
        description="online: within business hours and an agent online with a panel open")]
    text: Annotated[str, Meta(description="the status line in the negotiated language")]
    offer: Annotated[str | None, Meta(description="away: the offline form's button label; online: null")]
    in_hours: bool
    next_open: Annotated[Time | None, Meta(description="outside business hours: the next opening")]
    time_zone: Annotated[str | None, Meta(description="the schedule's IANA zone; null without a schedule")]
    locale: str


class BusinessHoursEnvelope(Struct):
    hours: Annotated[BusinessHours | None, Meta(description="null: no schedule (always within hours)")]
    status: SiteStatus


PrechatLabel = Annotated[
    str | dict[str, str],
    Meta(description="one text for every language, or texts by language code (en, uk, fr...); 1 to 100 "
         "characters each"),
]
PrechatType = Literal["name", "email", "text", "number", "select", "checkbox"]


class PrechatOption(Struct):
    value: Annotated[str, Meta(min_length=1, max_length=100)]
    label: PrechatLabel | None = None


class PrechatField(Struct):
    type: Annotated[str, Meta(  # checked by chatapp.prechat, which names the field's index
        max_length=20, extra_json_schema={"enum": ["name", "email", "text", "number", "select", "checkbox"]},
        description="name and email: the built-in fields, kept on the contact's account; the others are the "
        "site's own, kept as contact attributes")]
    key: Annotated[str, Meta(max_length=32, description="the site's own fields only: 1 to 32 of a-z, 0-9, '_', "
                             "starting with a letter; name and email take their type as key")] = ""
    label: Annotated[PrechatLabel | None, Meta(description="required for the site's own fields; null: the "
                                               "built-in field's label in the reader's language")] = None
    required: bool = False
    options: Annotated[
        list[PrechatOption | Annotated[str, Meta(min_length=1, max_length=100)]],
        Meta(max_length=20, description="select: 1 to 20 options; a plain text is an option labelled by its value"),
    ] = []


class SetPrechat(Body):
    """The pre-chat form: on or off, and its fields in the order the widget shows them."""

    example = {"enabled": True, "fields": [
        {"type": "name", "required": True}, {"type": "email", "required": False},
        {"type": "select", "key": "topic", "label": {"en": "Topic", "fr": "Sujet", "uk": "Тема"}, "required": True,
         "options": [{"value": "billing", "label": {"en": "Billing", "fr": "Facturation", "uk": "Оплата"}},
                     {"value": "other", "label": "Other"}]},
        {"type": "number", "key": "order", "label": "Order number"},
    ]}
    enabled: bool
    fields: Annotated[list[PrechatField], Meta(max_length=12, description="name, email and at most 10 of the "
                                                "site's own")]


class PrechatForm(Struct):
    enabled: bool
    fields: list[PrechatField]


class PrechatEnvelope(Struct):
    prechat: PrechatForm


class PrechatAnswers(Body):
    """The visitor's answers by field key: text, a number, true/false for a checkbox."""

    example = {"answers": {"name": "Camille", "email": "camille@example.com", "topic": "billing", "order": 1042}}
    answers: Annotated[dict[Annotated[str, Meta(max_length=32)], str | float | bool | None],
                       Meta(max_length=12)]


class VisitorPrechatOption(Struct):
    value: str
    label: str


class VisitorPrechatField(Struct):
    key: str
    type: PrechatType
    label: Annotated[str, Meta(description="in the negotiated language")]
    required: bool
    options: list[VisitorPrechatOption] | UnsetType = UNSET
    value: Annotated[str, Meta(description="name and email: what the account has now")] | UnsetType = UNSET


class VisitorPrechat(Struct):
    enabled: bool
    done: Annotated[bool, Meta(description="I have sent the form already: the widget does not ask again")]
    fields: Annotated[list[VisitorPrechatField], Meta(
        description="the fields to ask me (a signed-in visitor's known name and e-mail are left out)")]
    locale: str


class PrechatAnswer(Struct):
    key: str
    label: Annotated[str, Meta(description="in the reader's language; the key for a field since removed")]
    type: PrechatType
    value: Annotated[str, Meta(description="as stored: a number as written, a checkbox true or false")]
    text: Annotated[str, Meta(description="select: the option's label in the reader's language")]


class ClientConfig(Struct):
    echo: dict[str, Any]
    limits: dict[str, Any]
    features: dict[str, Any]
    vapid_public_key: str | None = None
    live_poll_seconds: Annotated[
        float, Meta(description="how often an open conversation with a live socket checks for missed messages")
    ] | UnsetType = UNSET
    status: Annotated[SiteStatus, Meta(description="as GET /api/chat/status answers")] | UnsetType = UNSET


REQUEST_SHAPES: tuple[type[Body], ...] = (
    Register, Login, SetLocale, ChangePassword, Guest, Identity, OpenRoom, SendMessage, Reply, Typing,
    SetAvailability, SetCapacity, SetRouting, Assign, Priority, CannedReplyCreate, Note, CannedReplyUpdate, UserAuth,
    ChannelAuth, PushSubscription, PushUnsubscribe, Upload, TeamInvite, SetStaffRole, AcceptInvite,
    SetBusinessHours, OfflineMessage, LabelCreate, LabelUpdate, RoomLabelAdd, BulkAction, RateChat, ReplyAddress,
    ChangeEmail, VerifyEmail,
    SetPrechat, PrechatAnswers,
    PageView,
    Snooze,
)
RESPONSE_SHAPES: tuple[type[Struct], ...] = (
    Error, User, Attachment, Message, Room, PageMeta, TokenResponse, UserEnvelope, RoomEnvelope, MaybeRoomEnvelope,
    AdminRoomEnvelope, RoomPage, InboxPageMeta, AdminRoomPage, MessagePage, AdminRoomDetail, SentEnvelope,
    PrechatEnvelope, VisitorPrechat, PrechatAnswer,
    PageRecorded,
    AdminSentEnvelope, TypingAck, ReadReceipt, UnreadCount, UploadResult, Stats, StatsEnvelope, AdminList, Agent,
    AgentEnvelope, AgentList, RoutingSettings, RoutingEnvelope, QueuePage, Erased, AuditPage, TranscriptQueued,
    InboundMailResult, Lockout, LockoutList, CannedReply,
    NoteEnvelope, CannedReplyList, CannedReplyEnvelope, ChannelAuthResult, UserAuthResult, Subscribed, Removed,
    Revoked, Health, OperatorStatus, Catalogue, ClientConfig, TeamMember, TeamList, TeamMemberEnvelope, InviteCreated,
    InviteInfo, BusinessHours, SiteStatus, BusinessHoursEnvelope, Label, LabelList, LabelEnvelope, RoomLabels,
    BulkOutcome, BulkResult, ReportEnvelope, EmailVerified, VerificationSent, EmailChanged,
)
