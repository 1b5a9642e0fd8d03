"""The support team, ``/api/admin/team``: members, invitations, roles, deactivation (:mod:`chatapp.team`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.account import token_document
from chatapp.api.common import body_of, client_ip, json_response, path_id, state
from chatapp.auth import validate_email, validate_name, validate_password
from chatapp.errors import ChatError, NotFound
from chatapp.team import Team

__all__ = ["members", "invite", "revoke_invite", "show_invite", "accept_invite", "set_role", "deactivate", "reactivate"]


def _team(request: Request) -> Team:
    chat = state(request)
    return Team(chat.db, chat.broadcaster, chat.service.events, chat.mail)


def _token(request: Request) -> str:
    token = str(request.path_params["token"])
    if not 20 <= len(token) <= 100:
        raise NotFound("This invitation does not exist or was used already", code="invite_not_found")
    return token


async def members(request: Request) -> Response:
    team = _team(request)
    invites = await team.pending_invites()
    return json_response({"data": await team.members(), "invites": [i.to_json() for i in invites]})


async def invite(request: Request) -> Response:
    """A one-time link for a new admin or agent (e-mailed when e-mail is on; answered either way)."""
    chat = state(request)
    await chat.limiter.hit(("team-invites", caller(request).id), chat.settings.rate_auth, "invitations")
    doc = await body_of(request, shapes.TeamInvite)
    email = validate_email(doc.email)
    name = validate_name(doc.name, default=email.split("@")[0])
    base = chat.settings.public_url or str(request.base_url)
    made, link, mailed = await _team(request).invite(caller(request), email=email, name=name, role=doc.role,
                                                      base_url=base)
    return json_response({"invite": made.to_json(), "link": link, "mailed": mailed}, 201)


async def revoke_invite(request: Request) -> Response:
    removed = await _team(request).revoke_invite(caller(request), path_id(request, "invite_id"))
    return json_response({"removed": removed})


async def show_invite(request: Request) -> Response:
    """What an invitation is for (the acceptance page shows it); 404 once used or expired."""
    found = await _team(request).show_invite(_token(request))
    return json_response({"invite": found.to_json()})


async def accept_invite(request: Request) -> Response:
    """Set a password, create the staff account, sign in; the link is used up."""
    chat = state(request)
    await chat.limiter.hit(("auth", client_ip(request)), chat.settings.rate_auth, "invitation acceptances")
    token = _token(request)
    doc = await body_of(request, shapes.AcceptInvite)
    password = validate_password(doc.password)
    team = _team(request)
    pending = await team.show_invite(token)
    name = validate_name(doc.name, default=pending.name)
    user = await team.accept(token, name=name, password_hash=await chat.passwords.hash(password))
    return json_response(await token_document(request, user), 201)


async def set_role(request: Request) -> Response:
    doc = await body_of(request, shapes.SetStaffRole)
    member = await _team(request).set_role(caller(request), path_id(request, "user_id"), doc.role)
    return json_response({"member": member})


async def deactivate(request: Request) -> Response:
    """Deactivate: every session of theirs ends now (401 in their panel), they cannot sign in, and the
    chats they held are unassigned."""
    actor, user_id, team = caller(request), path_id(request, "user_id"), _team(request)
    member = await team.set_active(actor, user_id, False)
    service = state(request).service
    for room_id in await team.assigned_rooms(user_id):
        try:
            await service.unassign(actor, room_id)
        except ChatError:  # resolved, closed or taken meanwhile
            pass
    return json_response({"member": member})


async def reactivate(request: Request) -> Response:
    member = await _team(request).set_active(caller(request), path_id(request, "user_id"), True)
    return json_response({"member": member})
