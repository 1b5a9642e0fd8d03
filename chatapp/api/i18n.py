"""Languages: the message catalogue a browser shows, and the panel language an agent picks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.common import body_of, current_session, json_response, state
from chatapp.errors import BadRequest
from chatapp.i18n import SCOPES, Catalogues
from chatapp.models import User

__all__ = ["catalogue", "set_locale", "negotiated"]

MAX_PREFER = 200


def negotiated(request: Request, catalogues: Catalogues) -> str:
    """The best of our languages for the request's ``prefer`` (BCP 47 tags, best first)."""
    prefer = request.query_params.get("prefer", "")
    if len(prefer) > MAX_PREFER:
        raise BadRequest(f"'prefer' is longer than {MAX_PREFER} characters", field="prefer")
    return catalogues.negotiate(prefer.split(","))


async def catalogue(request: Request) -> Response:
    """The best catalogue for ``prefer`` (BCP 47 tags, best first), with the languages on offer.

    ``scope`` (one of :data:`chatapp.i18n.SCOPES`) sends only the keys one client uses.
    """
    scope = request.query_params.get("scope")
    if scope is not None and scope not in SCOPES:
        raise BadRequest(f"'scope' must be one of: {', '.join(SCOPES)}", field="scope")
    catalogues = state(request).service.catalogues
    locale = negotiated(request, catalogues)
    doc = {"locale": locale, "messages": catalogues.scoped(locale, scope), "available": catalogues.names()}
    # GZipMiddleware adds "Vary: Accept-Encoding" to what it compresses; naming it here too doubled it
    return json_response(doc, headers={"Cache-Control": "public, max-age=300"})


async def set_locale(request: Request) -> Response:
    """Remember the caller's language (one of the catalogues); the panel shows it from then on."""
    session = await current_session(request)
    locale = (await body_of(request, shapes.SetLocale)).locale
    catalogues = state(request).service.catalogues
    if locale not in catalogues.available():
        raise BadRequest(
            f"'locale' must be one of: {', '.join(catalogues.available())}", code="unsupported_locale", field="locale"
        )
    chat = state(request)
    await repo.set_user_locale(chat.db, session.user.id, locale)
    user = await repo.get_user(chat.db, session.user.id)
    assert user is not None
    return json_response({"user": User.to_json(user)})
