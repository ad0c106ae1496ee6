"""Errors the server answers, one class per RFC 9457 problem `type`.

Callers catch the kind they can act on (`NotFound`, `QueueFull`...) and still
get every field of the problem, so nothing the server said is lost.
"""

from __future__ import annotations

import httpx

PROBLEM_PREFIX = "urn:sandrun:problem:"


class SandrunError(Exception):
    """A problem the server answered; the base of every kind below.

    `retry_after` is the `Retry-After` header in seconds, when the server
    sent one (it does with `QueueFull`).
    """

    def __init__(
        self,
        *,
        type: str,
        title: str,
        status: int,
        detail: str,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{title} ({status}): {detail}")
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.field = field
        self.retry_after = retry_after


class ValidationError(SandrunError):
    """A request field is refused; `field` names it (e.g. `limits.timeout_ms`)."""


class MalformedRequest(SandrunError):
    """The request could not be parsed at all."""


class TooLarge(SandrunError):
    pass


class BodyTimeout(SandrunError):
    """The request body stalled for longer than the server waits."""


class UnsupportedMediaType(SandrunError):
    pass


class NotFound(SandrunError):
    pass


class Conflict(SandrunError):
    """The request contradicts the state: an ended task, a taken name or key."""


class Gone(SandrunError):
    """The session has ended (idle too long or past its lifetime)
    and its state with it: it takes no more runs, forks or restarts."""


class RangeNotSatisfiable(SandrunError):
    """The byte range asked of an artifact is malformed or past its end."""


class QueueFull(SandrunError):
    """The queue is at its maximum; try again after `retry_after` seconds."""


class TooMany(SandrunError):
    """Too many of a kind at once (event streams, `?wait=` waits, open
    sessions); try again after `retry_after` seconds."""


class Unauthorized(SandrunError):
    """No API key, or not one the server accepts."""


class Unavailable(SandrunError):
    pass


class InternalError(SandrunError):
    pass


_KINDS: dict[str, type[SandrunError]] = {
    "validation": ValidationError,
    "malformed": MalformedRequest,
    "too-large": TooLarge,
    "body-timeout": BodyTimeout,
    "unsupported-media-type": UnsupportedMediaType,
    "not-found": NotFound,
    "conflict": Conflict,
    "gone": Gone,
    "range-not-satisfiable": RangeNotSatisfiable,
    "queue-full": QueueFull,
    "too-many": TooMany,
    "unauthorized": Unauthorized,
    "unavailable": Unavailable,
    "internal": InternalError,
}


def error_for(response: httpx.Response) -> SandrunError:
    """The error a failed (and fully read) response stands for.

    A body that is not a problem (a proxy's error page, say) still becomes a
    `SandrunError`, titled by the status, with the body as its detail.
    """
    retry_after = _seconds(response.headers.get("retry-after"))
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        problem = response.json()
        kind = str(problem.get("type", "about:blank"))
        cls = _KINDS.get(kind.removeprefix(PROBLEM_PREFIX), SandrunError)
        return cls(
            type=kind,
            title=str(problem.get("title", response.reason_phrase)),
            status=int(problem.get("status", response.status_code)),
            detail=str(problem.get("detail", "")),
            field=problem.get("field"),
            retry_after=retry_after,
        )
    return SandrunError(
        type="about:blank",
        title=response.reason_phrase,
        status=response.status_code,
        detail=response.text,
        retry_after=retry_after,
    )


def _seconds(value: str | None) -> float | None:
    """A `Retry-After` in seconds; an HTTP date (which sandrun never sends) as None."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
