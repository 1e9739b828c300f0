"""What every page needs: the signed-in person, CSRF, the language, and rendering.

The session cookie carries the id of the used sign-in row under the service's signature
(workflow.signed), so it cannot be made up, and signing out (which ends the row) ends it
everywhere. CSRF tokens are derived from the session (or, before signing in, from a random
visitor cookie) with an HMAC, so nothing more is stored.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from workflow import clock, signed
from workflow.auth import Principal, principal_for_person
from workflow.config import get_settings
from workflow.errors import DomainError
from workflow.http.deps import DB, MAX_ID
from workflow.http.problem import Problem, headers_of, status_of
from workflow.i18n import (
    LANGUAGES,
    LOCALES,
    accepted_language,
    environment,
    language_of,
    translations,
    validation_message,
)
from workflow.models import Person, WebSignIn
from workflow.rules import RuleError

SESSION_COOKIE = "wf_session"
VISITOR_COOKIE = "wf_visitor"
LANGUAGE_COOKIE = "wf_lang"
SESSION_PURPOSE = "web-session"
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
_R = TypeVar("_R", bound=Response)  # finish() answers with the response it was given


class NotSignedIn(Exception):
    """A page for signed-in people, asked without a (valid) session."""


class CsrfRefused(Exception):
    """A form posted without this browser's CSRF token."""


@dataclass
class Visitor:
    request: Request
    language: str
    person: Person | None = None
    principal: Principal | None = None
    sign_in_id: int | None = None
    visitor_id: str = ""
    cookies: dict[str, str] = field(default_factory=dict)  # to set on the answer

    @property
    def csrf(self) -> str:
        bound = f"session:{self.sign_in_id}" if self.sign_in_id else f"visitor:{self.visitor_id}"
        key = get_settings().secret_key.get_secret_value().encode()
        return hmac.new(key, f"csrf:{bound}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, token: object) -> None:
        if not isinstance(token, str) or not hmac.compare_digest(token, self.csrf):
            raise CsrfRefused

    @property
    def me(self) -> Principal:
        if self.principal is None:
            raise NotSignedIn
        return self.principal


def _asked_language(request: Request) -> str | None:
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def _browser_language(request: Request) -> str | None:
    """The first of nl, fr, en in Accept-Language, in the browser's order of preference."""
    return accepted_language(request.headers.get("accept-language", ""))


def _session_claim(request: Request) -> signed.Claim | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 500:
        return None
    try:
        return signed.read(SESSION_PURPOSE, token, ("session",))
    except (signed.InvalidLink, signed.ExpiredLink):
        return None


def visitor(request: Request, db: DB) -> Visitor:
    """Whoever is asking: signed in or not, and in which language to answer."""
    v = Visitor(request=request, language="en")
    claim = _session_claim(request)
    row = db.get(WebSignIn, claim.subject_id) if claim else None
    if claim and row and row.person_id == claim.person_id and row.used_at and not row.ended_at:
        v.person = db.get(Person, row.person_id)
        if v.person is not None:
            v.principal = principal_for_person(db, v.person)
            v.sign_in_id = row.id
    v.visitor_id = request.cookies.get(VISITOR_COOKIE, "")[:64]
    if not v.sign_in_id and len(v.visitor_id) < 20:
        v.visitor_id = secrets.token_urlsafe(24)
        v.cookies[VISITOR_COOKIE] = v.visitor_id
    asked = _asked_language(request)
    if asked:
        v.cookies[LANGUAGE_COOKIE] = asked
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    v.language = language_of(
        asked
        or (remembered if remembered in LANGUAGES else None)
        or (v.person.language if v.person else None)
        or _browser_language(request)
        or "en"
    )
    request.state.visitor = v  # for the error pages
    return v


_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


def form_id(value: object) -> int | None:
    """A row id or a version from a form field or a query string, or None. ASCII digits only:
    "²".isdigit() and "٣".isdecimal() are true, but neither is a number anyone typed."""
    if not isinstance(value, str) or not _ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def local_path(value: object) -> str | None:
    """A path on this service to go on to, or None: never another site (no open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 500:
        return None
    if value.startswith(("//", "/\\", "/sign-in")) or any(c < " " or c == "\\" for c in value):
        return None
    return value


def signed_in(v: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    if v.principal is None:
        raise NotSignedIn
    return v


async def posted(request: Request, v: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    """A form post from this browser (CSRF checked), signed in or not."""
    form = await request.form()
    v.check_csrf(form.get("csrf"))
    return v


async def signed_in_post(v: Annotated[Visitor, Depends(posted)]) -> Visitor:
    if v.principal is None:
        raise NotSignedIn
    return v


Anyone = Annotated[Visitor, Depends(visitor)]
SignedIn = Annotated[Visitor, Depends(signed_in)]
AnyonePost = Annotated[Visitor, Depends(posted)]
SignedInPost = Annotated[Visitor, Depends(signed_in_post)]


# Cookies ------------------------------------------------------------------------------------


def _secure() -> bool:
    return get_settings().effective_public_url.startswith("https://")


# Pages are personal (and some show a token or a feed link once): never cached, never framed,
# and no address of theirs (a sign-in link's) passed on to another site. The same headers as
# the pages behind links in mail (workflow.http.headers sets them on both).


def finish(v: Visitor, response: _R) -> _R:
    """The cookies this visit set, on the answer (the page headers are the Headers
    middleware's, for every web page and page behind a link in mail)."""
    for name, value in v.cookies.items():
        if value:
            response.set_cookie(
                name,
                value,
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
                secure=_secure(),
            )
        else:
            response.delete_cookie(name, httponly=True, samesite="lax", secure=_secure())
    return response


def start_session(v: Visitor, response: Response, row: WebSignIn, expires_at: datetime) -> None:
    token = signed.sign(SESSION_PURPOSE, signed.Claim(row.id, row.person_id, "session"), expires_at)  # type: ignore[arg-type]  # a stored row has its id
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int((expires_at - clock.now()).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(),
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure())


# Rendering ----------------------------------------------------------------------------------


def moment(value: datetime, timezone: str, language: str) -> str:
    """'29 maart 2027, 14:00' on the given zone's wall clock."""
    local = value.astimezone(ZoneInfo(timezone))
    locale = LOCALES[language_of(language)]
    day = format_date(local, format="long", locale=locale)
    return f"{day}, {format_time(local, 'HH:mm', locale=locale)}"


def _shows_outbox(v: Visitor) -> bool:
    # Everyone signed in reads their own captured mail there (workflow.web.outbox).
    return bool(get_settings().outbox_page and v.principal)


def _language_url(request: Request, language: str) -> str:
    query = {k: val for k, val in request.query_params.items() if k != "lang"}
    query["lang"] = language
    return f"{request.url.path}?{urlencode(query)}"


def render(v: Visitor, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env = environment(v.language)
    path = v.request.url.path
    if isinstance(context.get("errors"), dict):
        context["errors"] = {k: in_language(v.language, m) for k, m in context["errors"].items()}
    html = env.get_template(f"web/{template}").render(
        v=v,
        csrf=v.csrf,
        show_outbox=_shows_outbox(v),
        today=clock.today(),
        current=path,
        languages=[
            (code, LANGUAGE_NAMES[code], _language_url(v.request, code)) for code in LANGUAGES
        ],
        moment=lambda value, tz=None: moment(
            value, tz or get_settings().default_timezone, v.language
        ),
        **context,
    )
    return finish(v, HTMLResponse(html, status_code=status_code))


def redirect(v: Visitor, url: str) -> RedirectResponse:
    return finish(v, RedirectResponse(url, status_code=303))


class Said(str):
    """A domain error's message as written, with what it takes to say it in another language."""

    msgid: str
    params: dict[str, object]

    @classmethod
    def of(cls, exc: DomainError) -> "Said":
        said = cls(exc.detail)
        said.msgid, said.params = exc.msgid, exc.params
        return said


def in_language(language: str, message: object) -> object:
    """A message from a form check or a domain rule in the reader's language, where the
    catalogue has it; anything else as it is."""
    if isinstance(message, Invalidated):
        return validation_message(message.error, language)
    if isinstance(message, Said):
        text = translations(language).gettext(message.msgid)
        return text % message.params if message.params else text
    if isinstance(message, str) and message:
        return translations(language).gettext(message)
    return message


def field_errors(exc: ValidationError | RuleError) -> dict[str, str]:
    """Errors by form field name, from the schema's validation or a domain rule."""
    if isinstance(exc, RuleError):
        return {exc.field or "": Said.of(exc)}
    out: dict[str, str] = {}
    for e in exc.errors():
        name = str(e["loc"][0]) if e.get("loc") else ""
        out.setdefault(name, Invalidated(e))
    return out


class Invalidated(str):
    """One of pydantic's refusals, in English, with the error to say it in another language."""

    error: Any

    def __new__(cls, error: Any) -> "Invalidated":
        said = super().__new__(cls, error.get("msg", "invalid"))
        said.error = error
        return said


# Errors as pages ----------------------------------------------------------------------------


def error_page(request: Request, status: int, detail: object = None) -> HTMLResponse:
    v = getattr(request.state, "visitor", None)
    if v is None:  # the request failed before anyone was looked up
        cookie = request.cookies.get(LANGUAGE_COOKIE)
        language = _asked_language(request) or (cookie if cookie in LANGUAGES else "en")
        v = Visitor(request=request, language=language)
    return render(v, "error.html", status, status=status, detail=in_language(v.language, detail))


class WebRoute(APIRoute):
    """A page: problems, broken rules, bad input and missing sessions answer as pages (or a
    redirect to the sign-in page), never as JSON and never as a stack trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn:
                # After signing in, back to the page that was asked for.
                asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                wanted = local_path(asked) if request.method == "GET" else None
                target = (
                    f"/sign-in?{urlencode({'next': wanted})}"
                    if wanted and wanted != "/"
                    else "/sign-in"
                )
                return RedirectResponse(target, status_code=303)
            except CsrfRefused:
                return error_page(request, 403, "csrf")
            except Problem as exc:
                response = error_page(request, exc.status, exc.detail)
                response.headers.update(exc.headers or {})  # Retry-After on 429, say
                return response
            except DomainError as exc:  # a broken rule, something not found, ...
                response = error_page(request, status_of(exc), Said.of(exc))
                response.headers.update(headers_of(exc))  # a version conflict's ETag
                return response
            except (RequestValidationError, ValidationError):
                return error_page(request, 422, None)

        return page
