"""My settings: language, my calendar feed, my API tokens for integrations.

The language and the feed go through the same functions as the API's person and feed
routes. Tokens made here act as the person with their own roles, never as administrator."""

from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from workflow import auth, directory, spine
from workflow.errors import NotFound
from workflow.http.deps import DB, PathId
from workflow.invitations import answers
from workflow.models import ApiToken
from workflow.schemas import PersonUpdate, TokenCreate
from workflow.web.deps import (
    LANGUAGE_COOKIE,
    SignedIn,
    SignedInPost,
    Visitor,
    WebRoute,
    redirect,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _page(v: Visitor, db: DB, status_code: int = 200, **shown: object) -> HTMLResponse:
    tokens = auth.active_tokens(db, v.me.person_id)
    return render(
        v,
        "me.html",
        status_code,
        person=v.person,
        tokens=tokens,
        has_feed=v.person.feed_token_hash is not None,  # type: ignore[union-attr]  # signed-in pages have a person
        **{"saved": None, **shown},
    )


@router.get("/me")
def me(v: SignedIn, db: DB, saved: str | None = None) -> HTMLResponse:
    return _page(
        v, db, saved=saved if saved in ("language", "feed_revoked", "token_revoked") else None
    )


@router.post("/me/language")
def save_language(
    v: SignedInPost, db: DB, language: Annotated[str, Form(max_length=2)] = ""
) -> Response:
    try:
        data = PersonUpdate(language=language)
    except ValidationError:
        return _page(v, db, 422, invalid="language")
    directory.update_person(db, v.me, v.me.person_id, data)  # type: ignore[arg-type]  # a signed-in person has an id
    spine.commit(db)
    v.cookies[LANGUAGE_COOKIE] = ""  # the saved language rules from now on
    return redirect(v, "/me?saved=language")


@router.post("/me/calendar-feed")
def issue_feed(v: SignedInPost, db: DB) -> HTMLResponse:
    url = answers.issue_feed(db, v.person)  # type: ignore[arg-type]  # signed-in pages have a person
    spine.record(db, v.me.actor, "feed.issued", person_id=v.me.person_id)
    spine.commit(db)
    return _page(v, db, feed_url=url)


@router.post("/me/calendar-feed/revoke")
def revoke_feed(v: SignedInPost, db: DB) -> Response:
    answers.revoke_feed(v.person)  # type: ignore[arg-type]  # signed-in pages have a person
    db.add(v.person)
    spine.record(db, v.me.actor, "feed.revoked", person_id=v.me.person_id)
    spine.commit(db)
    return redirect(v, "/me?saved=feed_revoked")


@router.post("/me/tokens")
def create_token(
    v: SignedInPost, db: DB, name: Annotated[str, Form(max_length=300)] = ""
) -> HTMLResponse:
    try:
        data = TokenCreate(name=name.strip())
    except ValidationError:
        return _page(v, db, 422, invalid="token_name")
    row, token = auth.create_token(db, data.name, person_id=v.me.person_id)
    spine.record(
        db, v.me.actor, "token.created", token_id=row.id, person_id=v.me.person_id, is_admin=False
    )
    spine.commit(db)
    return _page(v, db, new_token=token, new_token_name=row.name)


@router.post("/me/tokens/{token_id}/revoke")
def revoke_token(token_id: PathId, v: SignedInPost, db: DB) -> Response:
    row = db.get(ApiToken, token_id)
    if row is None or row.person_id != v.me.person_id or row.revoked_at is not None:
        raise NotFound("token %(id)s does not exist", id=token_id)
    auth.revoke(row)
    spine.record(db, v.me.actor, "token.revoked", token_id=row.id, person_id=v.me.person_id)
    spine.commit(db)
    return redirect(v, "/me?saved=token_revoked")
