"""The two clients: the same API (from `ClientBase`), sent with httpx's sync
or async client. What is here is only what must differ between them: how a
plan's calls are sent, how pages are followed, and the methods that stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import httpx

from .base import ClientBase
from .errors import error_for
from .events import EventReader, TaskEvent
from .models import Page
from .operations import events_call
from .plan import Plan

T = TypeVar("T")


class Client(ClientBase[httpx.Client]):
    """A blocking client for one sandrun server (see `ClientBase` for the arguments)."""

    def _open(self, **options: Any) -> httpx.Client:
        return httpx.Client(**options)

    def _drive(self, plan: Plan[T]) -> T:
        """Send each call of `plan` and give it the response, until it returns."""
        try:
            call = next(plan)
            while True:
                call = plan.send(self._http.request(**self._request_args(call)))
        except StopIteration as done:
            return cast(T, done.value)

    def _every(self, page_at: Callable[[str | None], Plan[Page[T]]]) -> Iterator[T]:
        """The items of the page `page_at(None)` reads and of each one after it,
        `page_at(cursor)` reading the page at a `next_cursor`."""
        cursor: str | None = None
        while True:
            page = self._drive(page_at(cursor))
            yield from page.items
            if (cursor := page.next_cursor) is None:
                return

    def events(self, task_id: str) -> Iterator[TaskEvent]:
        """The task's events as they happen (its history first), to `end`, without
        waiting for the server to close the stream."""
        with self._http.stream(**self._request_args(events_call(task_id))) as response:
            if response.is_error:
                response.read()
                raise error_for(response)
            reader = EventReader()
            for line in response.iter_lines():
                if (event := reader.feed(line)) is not None:
                    yield event
                if reader.ended:
                    return

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(ClientBase[httpx.AsyncClient]):
    """`Client`, for asyncio: every method is awaited, streams are async iterators."""

    def _open(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    async def _drive(self, plan: Plan[T]) -> T:
        """Send each call of `plan` and give it the response, until it returns."""
        try:
            call = next(plan)
            while True:
                call = plan.send(await self._http.request(**self._request_args(call)))
        except StopIteration as done:
            return cast(T, done.value)

    async def _every(self, page_at: Callable[[str | None], Plan[Page[T]]]) -> AsyncIterator[T]:
        """The items of the page `page_at(None)` reads and of each one after it,
        `page_at(cursor)` reading the page at a `next_cursor`."""
        cursor: str | None = None
        while True:
            page = await self._drive(page_at(cursor))
            for item in page.items:
                yield item
            if (cursor := page.next_cursor) is None:
                return

    async def events(self, task_id: str) -> AsyncIterator[TaskEvent]:
        """The task's events as they happen (its history first), to `end`, without
        waiting for the server to close the stream."""
        async with self._http.stream(**self._request_args(events_call(task_id))) as response:
            if response.is_error:
                await response.aread()
                raise error_for(response)
            reader = EventReader()
            async for line in response.aiter_lines():
                if (event := reader.feed(line)) is not None:
                    yield event
                if reader.ended:
                    return

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
