"""The `Idempotency-Key` header of the API's writes (Stripe's rule): a repeat of a request with the same key and the
same body gets the first answer and changes nothing; the same key with a different body (or another endpoint) is a
409. Keys are per user.

An app that offers idempotent writes declares a concrete model of IdempotentRequestBase (the store of first answers)
and answers through `idempotent_response(request, store=..., handler=...)`. The record and the handler's writes
commit together or not at all: an answer that failed (any exception: a 400, a 409 of the service) stores nothing,
so the client may retry it with the same key. Concurrent requests with one key serialise on the store's unique
(user, key) index; the later ones then replay the first answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from gtsched_site.limits import echo
from gtsched_site.transactions import retried_atomic

HEADER = "Idempotency-Key"
KEY_MAX = 200
_KEY = re.compile(rf"[\x21-\x7e][\x20-\x7e]{{0,{KEY_MAX - 1}}}")  # printable ASCII, not starting with a space
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
    description=(
        f"Makes the write safe to repeat: up to {KEY_MAX} printable ASCII characters (a UUID is a good key). The same "
        "key with the same body returns the first answer and changes nothing; the same key with a different body is "
        "a 409. Keys are per user."
    ),
    pattern=rf"^[\x21-\x7e][\x20-\x7e]{{0,{KEY_MAX - 1}}}$",
)


class IdempotencyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_conflict"


class IdempotentRequestBase(models.Model):
    """One first answer: who asked, under which key, a digest of what they asked, and what they were told."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=KEY_MAX)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} · {self.key}"


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key (None when absent), or a 400 naming the header when it is not a usable key."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise ValidationError({HEADER: [
            f"{echo(raw)!r} is not a usable key: give 1 to {KEY_MAX} printable ASCII characters, e.g. a UUID."
        ]})
    return raw


def request_hash(*, method: str, path: str, body: Any) -> str:
    """A digest of what was asked: the method, the path and the body as parsed (key order does not matter)."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent_response(
    request: Request, *, store: type[IdempotentRequestBase], handler: Callable[[], Response],
) -> Response:
    """Answer with `handler()` in one transaction (retried whole on a serialization failure or deadlock) — or, when
    the request's Idempotency-Key was used before by this user, with the first answer (same request; the response
    carries `Idempotent-Replayed: true`) or a 409 (a different request)."""
    key = idempotency_key(request)
    if key is None:
        return retried_atomic(handler)()
    digest = request_hash(method=request.method, path=request.path, body=request.data)
    return retried_atomic(_answer_once)(request, store, key, digest, handler)


def _answer_once(request: Request, store: type[IdempotentRequestBase], key: str, digest: str,
                 handler: Callable[[], Response]) -> Response:
    try:
        with transaction.atomic():  # a savepoint: the insert waits for a concurrent holder of the key to finish
            record = store.objects.create(user=request.user, key=key, method=request.method, path=request.path[:300],
                                          request_hash=digest, status_code=0)
    except IntegrityError:
        first = store.objects.get(user=request.user, key=key)
        if first.request_hash != digest:
            raise IdempotencyConflict({HEADER: [
                f"The key {echo(key)!r} was first used for {first.method} {first.path} with a different body; "
                "use a new key for a new request."
            ]}) from None
        return Response(first.response_body, status=first.status_code, headers={REPLAYED_HEADER: "true"})
    response = handler()
    if response.status_code >= 400:  # an answer that failed stores nothing and changes nothing
        transaction.set_rollback(True)
        return response
    record.status_code = response.status_code
    record.response_body = response.data
    record.save(update_fields=["status_code", "response_body"])
    return response
