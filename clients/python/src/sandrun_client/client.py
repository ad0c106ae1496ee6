"""The two clients: the same API (from `ClientBase`), sent with httpx's sync
or async client. What is here is only what must differ between them: how a
plan's calls are sent, and the methods that stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack, cast

import httpx

from .base import ClientBase
from .errors import error_for
from .events import EventReader, TaskEvent
from .models import Task
from .payloads import TaskQuery
from .operations import events_call, next_query
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

    def iter_tasks(self, **query: Unpack[TaskQuery]) -> Iterator[Task]:
        """Every task the filters match, newest first, page after page."""
        following: TaskQuery | None = query
        while following is not None:
            page = self.list(**following)
            yield from page.tasks
            following = next_query(following, page)

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

    async def iter_tasks(self, **query: Unpack[TaskQuery]) -> AsyncIterator[Task]:
        """Every task the filters match, newest first, page after page."""
        following: TaskQuery | None = query
        while following is not None:
            page = await self.list(**following)
            for task in page.tasks:
                yield task
            following = next_query(following, page)

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
