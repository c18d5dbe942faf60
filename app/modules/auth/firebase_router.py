"""`POST /api/v1/auth/firebase`: sign in with a Firebase ID token (FIREBASE_ENABLED)."""

from __future__ import annotations

from fastapi import Response
from pydantic import Field

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.routing import APIRouter
from app.core.validation import RequestModel
from app.modules.auth import firebase
from app.modules.auth.router import _token_response
from app.modules.auth.schemas import TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


class FirebaseSignIn(RequestModel):
    id_token: str = Field(min_length=1, max_length=4096, description="Firebase ID token (JWT)")


@router.post(
    "/firebase",
    response_model=TokenResponse,
    responses={
        401: {"description": "Invalid token, or no verified email"},
        404: {"description": "Firebase sign-in is not enabled"},
        **problem(503, "Google's signing keys could not be fetched"),
    },
)
def firebase_sign_in(payload: FirebaseSignIn, response: Response, db: DbSession) -> TokenResponse:
    """Exchange a Firebase ID token for this API's access and refresh tokens."""
    return _token_response(response, firebase.sign_in(db, id_token=payload.id_token))
