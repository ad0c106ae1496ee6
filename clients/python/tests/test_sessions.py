"""Sessions: state kept from run to run, trailing values, rollback, forks,
restarts, ending, listing and the problems they raise, with both clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from sandrun_client import (
    AsyncClient,
    Client,
    EndEvent,
    Gone,
    NotFound,
    Outcome,
    SandrunError,
    Session,
    SessionStart,
    SessionStatus,
    StdoutEvent,
    TaskStatus,
    TooMany,
    ValidationError,
)


def value(client: Client, session_id: str, expression: str) -> str | None:
    """The `repr` of `expression` in the session, checking the run succeeded."""
    run = client.run_in_session(session_id, expression)
    assert run.status is TaskStatus.SUCCEEDED and run.result is not None, run
    return run.result.value


def test_a_session_keeps_its_state_and_sees_the_host_calls(client: Client, unique: str) -> None:
    session = client.open_session(labels={"case": unique}, env={"GREETING": "hi"})
    assert (session.status, session.runtime, session.labels) == (SessionStatus.IDLE, "python", {"case": unique})
    assert (session.runs, session.state_bytes, session.last_run_at) == (0, 0, None)
    assert session.created_at < session.expires_at

    first = client.run_in_session(session.id, "x = 41\nopen('/tmp/note', 'w').write('kept')\nprint('set')")
    assert first.status is TaskStatus.SUCCEEDED, first
    assert (first.session_id, first.session_run) == (session.id, 1)
    assert first.result is not None
    assert (first.result.stdout, first.result.value, first.result.rolled_back) == ("set\n", None, False)
    assert first.result.session_start is SessionStart.NEW

    second = client.run_in_session(session.id, "x += 1\n(x, open('/tmp/note').read())")
    assert second.session_run == 2 and second.result is not None
    assert (second.result.value, second.result.stdout) == ("(42, 'kept')", ""), "a value is not printed"
    assert second.result.session_start is SessionStart.LIVE

    calls = "import os, sandrun\nsandrun.output({'x': x})\nsandrun.log('info', 'hello')\n"
    calls += "(sandrun.input()['n'] * x, os.environ['GREETING'])"
    third = client.run_in_session(session.id, calls, input={"n": 2})
    assert third.result is not None
    assert (third.result.value, third.result.output) == ("(84, 'hi')", {"x": 42})
    assert [line.message for line in third.result.logs] == ["hello"]

    after = client.session(session.id)
    assert (after.status, after.runs) == (SessionStatus.IDLE, 3)
    assert after.state_bytes > 0 and after.last_run_at is not None
    assert client.get(third.id) == third, "a run is a task"


def test_an_exception_keeps_the_state_and_a_timeout_rolls_it_back(client: Client) -> None:
    session_id = client.open_session().id
    raised = client.run_in_session(session_id, "x = 1\nraise ValueError('boom')")
    assert raised.status is TaskStatus.FAILED and raised.result is not None
    assert (raised.result.outcome, raised.result.exit_code) == (Outcome.EXITED, 1)
    assert "ValueError: boom" in raised.result.stderr
    assert not raised.result.rolled_back, "an exception keeps what the run reached"
    assert value(client, session_id, "x") == "1"

    timed_out = client.run_in_session(session_id, "x = 2\nwhile True: pass", limits={"timeout_ms": 1000})
    assert timed_out.status is TaskStatus.FAILED and timed_out.result is not None
    assert (timed_out.result.outcome, timed_out.result.rolled_back) == (Outcome.TIMED_OUT, True)
    assert timed_out.result.limits["timeout_ms"] == 1000
    assert "as it was before" in (timed_out.result.message or "")
    assert value(client, session_id, "x") == "1"


def test_the_state_cap_rolls_back_a_run_that_would_pass_it(client: Client) -> None:
    session = client.open_session(max_state_bytes=4 << 20)
    assert session.max_state_bytes == 4 << 20
    client.run_in_session(session.id, "x = 1")
    grown = client.run_in_session(session.id, "import os\nx = 2\nbig = os.urandom(8 << 20)")
    assert grown.result is not None
    assert (grown.result.outcome, grown.result.rolled_back) == (Outcome.STATE_EXCEEDED, True)
    assert value(client, session.id, "x, 'big' in globals()") == "(1, False)"


def test_run_in_session_waits_past_the_servers_cap_and_submit_run_does_not(client: Client) -> None:
    session_id = client.open_session().id
    started = time.monotonic()
    slow = client.submit_run(session_id, "import time\ntime.sleep(2.5)\n'late'", wait=30)
    assert time.monotonic() - started < 2.0, "the server caps a wait at 1 s"
    assert not slow.status.is_terminal, slow
    after = client.run_in_session(session_id, "'next'")
    assert after.session_run == 2 and after.result is not None and after.result.value == "'next'"
    earlier = client.get(slow.id)
    assert earlier.status is TaskStatus.SUCCEEDED and earlier.result is not None
    assert earlier.result.value == "'late'" and earlier.finished_at is not None
    assert after.started_at is not None and after.started_at >= earlier.finished_at, "one run at a time"


def test_a_fork_is_independent_both_ways_and_restart_forgets(client: Client, unique: str) -> None:
    parent = client.open_session(labels={"fork": unique}, idle_timeout=120)
    client.run_in_session(parent.id, "x = [1]\nopen('/tmp/f', 'w').write('p')")
    child = client.fork_session(parent.id)
    assert child.id != parent.id and child.forked_from == parent.id
    assert (child.idle_timeout, child.labels) == (120, {"fork": unique})
    assert child.state_bytes == client.session(parent.id).state_bytes > 0

    client.run_in_session(child.id, "x.append('child')\nopen('/tmp/f', 'w').write('c')")
    client.run_in_session(parent.id, "x.append('parent')")
    assert value(client, child.id, "x, open('/tmp/f').read()") == "([1, 'child'], 'c')"
    assert value(client, parent.id, "x, open('/tmp/f').read()") == "([1, 'parent'], 'p')"

    restarted = client.restart_session(parent.id)
    assert restarted.id == parent.id and restarted.state_bytes == 0
    fresh = "'x' in globals(), __import__('os').path.exists('/tmp/f')"
    assert value(client, parent.id, fresh) == "(False, False)"
    assert value(client, child.id, "x") == "[1, 'child']"


def until_ended(client: Client, session_id: str) -> Session:
    """The session once it has ended (idle past its timeout)."""
    deadline = time.monotonic() + 10
    while (session := client.session(session_id)).status is not SessionStatus.ENDED:
        assert time.monotonic() < deadline, session
        time.sleep(0.1)
    return session


def test_an_ended_session_is_gone_and_a_deleted_one_not_found(client: Client) -> None:
    session_id = client.open_session(idle_timeout=1).id
    client.run_in_session(session_id, "x = 1")
    ended = until_ended(client, session_id)
    assert (ended.end_reason, ended.state_bytes) == ("idle", 0)
    assert ended.ended_at is not None

    with pytest.raises(Gone) as gone:
        client.run_in_session(session_id, "x")
    error = gone.value
    assert isinstance(error, SandrunError)
    assert (error.status, error.type, error.title) == (410, "urn:sandrun:problem:gone", "Gone")
    assert session_id in error.detail and "idle" in error.detail
    for refused in (client.fork_session, client.restart_session):
        with pytest.raises(Gone):
            refused(session_id)
    with pytest.raises(Gone):
        client.submit_run(session_id, "x", wait=1)

    deleted = client.delete_session(session_id)
    assert (deleted.id, deleted.status, deleted.end_reason) == (session_id, SessionStatus.ENDED, "idle")
    open_id = client.open_session().id
    client.run_in_session(open_id, "x = 1")
    deleted = client.delete_session(open_id)
    assert (deleted.status, deleted.end_reason, deleted.state_bytes) == (SessionStatus.ENDED, "deleted", 0)
    for gone_id in (session_id, open_id, "no-such-session"):
        with pytest.raises(NotFound) as missing:
            client.session(gone_id)
        assert missing.value.status == 404 and gone_id in missing.value.detail
        for refused in (client.delete_session, client.fork_session, client.restart_session):
            with pytest.raises(NotFound):
                refused(gone_id)
        with pytest.raises(NotFound):
            client.run_in_session(gone_id, "1")
        with pytest.raises(NotFound):
            client.session_runs(gone_id)


def test_sessions_and_their_runs_are_listed_page_by_page(client: Client, unique: str) -> None:
    label = {"listing": unique}
    first, second = (client.open_session(labels=label) for _ in range(2))
    third = client.open_session(labels=label, idle_timeout=1)
    until_ended(client, third.id)
    only = f"listing={unique}"
    page = client.sessions(label=only, limit=2)
    assert [s.id for s in page.sessions] == [third.id, second.id], "newest first"
    assert page.next_cursor is not None
    assert [s.id for s in client.sessions(label=only, cursor=page.next_cursor).sessions] == [first.id]
    assert [s.id for s in client.iter_sessions(label=only, limit=1)] == [third.id, second.id, first.id]
    assert [s.id for s in client.sessions(label=only, status="ended").sessions] == [third.id]
    assert [s.id for s in client.iter_sessions(label=only, status=SessionStatus.IDLE)] == [second.id, first.id]

    runs = [client.run_in_session(first.id, code) for code in ("1", "raise SystemExit(2)", "3")]
    runs_page = client.session_runs(first.id, limit=2)
    assert [r.session_run for r in runs_page.tasks] == [3, 2] and runs_page.next_cursor is not None
    assert [r.id for r in client.iter_session_runs(first.id, limit=2)] == [r.id for r in reversed(runs)]
    assert [r.id for r in client.session_runs(first.id, status=TaskStatus.FAILED).tasks] == [runs[1].id]
    assert client.session_runs(second.id).tasks == []
    assert [t.id for t in client.iter_tasks(label=only)] == [r.id for r in reversed(runs)], "runs carry its labels"


def test_bad_settings_are_refused_by_their_field(client: Client) -> None:
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: client.open_session(runtime="wasm"), "runtime"),
        (lambda: client.open_session(limits={"memory_bytes": 1 << 30}), "limits.memory_bytes"),
        (lambda: client.open_session(idle_timeout=0), "idle_timeout"),
    ]
    for open_session, field in refusals:
        with pytest.raises(ValidationError) as refused:
            open_session()
        assert refused.value.field == field
    session_id = client.open_session().id
    with pytest.raises(ValidationError) as run_refused:
        client.run_in_session(session_id, "1", limits={"memory_bytes": 1 << 20})
    assert run_refused.value.field == "limits.memory_bytes"
    with pytest.raises(ValidationError) as page_refused:
        client.sessions(limit=0)
    assert page_refused.value.field == "limit"


def test_a_server_at_its_most_sessions_says_when_to_retry(guarded_url: str, api_key: str) -> None:
    with Client(guarded_url, api_key=api_key) as keyed, pytest.raises(TooMany) as full:
        keyed.open_session()
    assert (full.value.status, full.value.retry_after) == (429, 5.0)
    assert full.value.detail.startswith("0 sessions are open"), "names the maximum"


async def test_the_async_client_runs_forks_lists_and_ends_sessions(aclient: AsyncClient, unique: str) -> None:
    session = await aclient.open_session(labels={"async-session": unique})
    assert (await aclient.run_in_session(session.id, "x = 6")).status is TaskStatus.SUCCEEDED
    six = await aclient.run_in_session(session.id, "x * 7")
    assert six.result is not None and six.result.value == "42"

    fork = await aclient.fork_session(session.id)
    mine, theirs = await asyncio.gather(
        aclient.run_in_session(session.id, "x += 1\nx"),
        aclient.run_in_session(fork.id, "x -= 1\nx"),
    )
    assert [r.result.value if r.result else None for r in (mine, theirs)] == ["7", "5"]

    streamed = await aclient.submit_run(fork.id, "print('from the fork')\nx")
    events = [e async for e in aclient.events(streamed.id)]
    assert [e.text for e in events if isinstance(e, StdoutEvent)] == ["from the fork\n"]
    end = events[-1]
    assert isinstance(end, EndEvent) and end.task.result is not None and end.task.result.value == "5"

    listed = [s.id async for s in aclient.iter_sessions(label=f"async-session={unique}", limit=1)]
    assert listed == [fork.id, session.id]
    runs = [r.session_run async for r in aclient.iter_session_runs(session.id, limit=2)]
    assert runs == [3, 2, 1]

    timed_out = await aclient.run_in_session(session.id, "x = 0\nwhile True: pass", limits={"timeout_ms": 1000})
    assert timed_out.result is not None and timed_out.result.rolled_back
    restarted = await aclient.restart_session(fork.id)
    assert restarted.state_bytes == 0
    assert (await aclient.delete_session(session.id)).end_reason == "deleted"
    with pytest.raises(NotFound):
        await aclient.run_in_session(session.id, "x")
    with pytest.raises(NotFound):
        await aclient.session(session.id)
