"""Drives agents behind the gateway with the official Python A2A client (a2a-sdk).

Usage: python_client.py BASE_URL ECHO_AGENT STREAM_AGENT LONG_AGENT

BASE_URL is the gateway (e.g. http://127.0.0.1:8080); each agent is an
`org/unit/agent` path. ECHO_AGENT repeats its input, STREAM_AGENT is a short
inspection that streams a few stations, LONG_AGENT a long one to cancel.

Only the SDK's public client API is used, as an application would: the card
resolver, the client factory, `send_message`, `get_task`, `cancel_task`,
`subscribe`, `list_tasks`. Prints `ok <check>` per passed check; any failure
raises, so Python prints the traceback and exits non-zero.
"""

import asyncio
import sys
import time

from importlib.metadata import version

try:
    import httpx

    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
    from a2a.helpers import get_artifact_text, get_message_text, new_text_message
    from a2a.types import (
        AgentCard,
        CancelTaskRequest,
        GetTaskRequest,
        ListTasksRequest,
        Role,
        SendMessageConfiguration,
        SendMessageRequest,
        StreamResponse,
        SubscribeToTaskRequest,
        Task,
        TaskState,
    )
except ImportError as e:
    raise ImportError(
        f'{sys.executable} cannot import the A2A client ({e}); '
        'it needs a2a-sdk==1.3.0 (pip install a2a-sdk==1.3.0)'
    ) from e


def state_name(state: int) -> str:
    return TaskState.Name(state)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def user_message(text: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))


def event_kind(event: StreamResponse) -> str:
    return event.WhichOneof('payload') or '<empty>'


def event_state(event: StreamResponse) -> int | None:
    if event.HasField('task'):
        return event.task.status.state
    if event.HasField('status_update'):
        return event.status_update.status.state
    return None


async def resolve_card(base: str, agent: str) -> AgentCard:
    """Fetches `{base}/agents/{agent}/.well-known/agent-card.json` with the SDK."""
    agent_url = f'{base}/agents/{agent}'
    async with httpx.AsyncClient() as http:
        card = await A2ACardResolver(http, agent_url).get_agent_card()
    expect(len(card.supported_interfaces) >= 1, f'card has interfaces: {card}')
    iface = card.supported_interfaces[0]
    expect(iface.url == agent_url, f'interface url {iface.url!r} == {agent_url!r}')
    expect(iface.protocol_binding == 'JSONRPC', f'binding: {iface}')
    expect(iface.protocol_version == '1.0', f'version: {iface}')
    return card


async def check_send(base: str, echo: str) -> Task:
    card = await resolve_card(base, echo)
    expect(card.capabilities.streaming, 'echo card says streaming: true')
    print(f'ok card {card.name} -> {card.supported_interfaces[0].url}', flush=True)

    # The card says streaming, so the SDK would stream by default; ask for a
    # plain blocking SendMessage instead.
    client = ClientFactory(ClientConfig(streaming=False)).create(card)
    async with client:
        text = 'hello from the python a2a-sdk'
        events = [e async for e in client.send_message(user_message(text))]
    expect(len(events) == 1, f'one response to a non-streaming send: {events}')
    expect(events[0].HasField('task'), f'the response is a Task: {events[0]}')
    task = events[0].task
    expect(
        task.status.state == TaskState.TASK_STATE_COMPLETED,
        f'send: state {state_name(task.status.state)}: {task}',
    )
    expect(len(task.artifacts) == 1, f'one artifact: {task}')
    got = get_artifact_text(task.artifacts[0])
    expect(got == text, f'artifact text {got!r} == {text!r}')
    expect(task.id != '' and task.context_id != '', f'ids set: {task}')
    print(f'ok send task={task.id}', flush=True)
    return task


async def check_stream(base: str, agent: str) -> None:
    # create_from_url resolves the card itself (same well-known path).
    factory = ClientFactory(ClientConfig())
    client = await factory.create_from_url(f'{base}/agents/{agent}')
    started = time.monotonic()
    events: list[tuple[float, StreamResponse]] = []
    async with client:
        async for event in client.send_message(user_message('line 2')):
            events.append((time.monotonic() - started, event))
    kinds = [event_kind(e) for _, e in events]
    expect(len(events) >= 3, f'several events: {kinds}')

    first, last = events[0][1], events[-1][1]
    expect(first.HasField('task'), f'first event is the Task: {kinds}')
    task_id = first.task.id
    expect(
        event_state(last) == TaskState.TASK_STATE_COMPLETED,
        f'last event says COMPLETED: {last}',
    )
    for _, e in events[1:]:
        expect(
            e.HasField('status_update') or e.HasField('artifact_update'),
            f'updates after the Task: {kinds}',
        )
        update = e.status_update if e.HasField('status_update') else e.artifact_update
        expect(update.task_id == task_id, f'update for task {task_id}: {e}')

    # Order: the report chunks and the progress messages come station by station.
    chunks = [
        get_artifact_text(e.artifact_update.artifact)
        for _, e in events
        if e.HasField('artifact_update')
    ]
    expect(bool(chunks), f'artifact chunks streamed: {kinds}')
    want = [f'station {i}: ok\n' for i in range(1, len(chunks) + 1)]
    expect(chunks == want, f'chunks in order: {chunks!r}')
    progress = [
        get_message_text(e.status_update.status.message)
        for _, e in events
        if e.HasField('status_update')
        and e.status_update.status.HasField('message')
        and 'station' in get_message_text(e.status_update.status.message)
    ]
    stations = [int(p.split('station ')[1].split('/')[0]) for p in progress]
    expect(
        bool(stations) and stations == sorted(stations),
        f'progress in order: {progress}',
    )
    appends = [
        e.artifact_update.append for _, e in events if e.HasField('artifact_update')
    ]
    expect(
        appends == [False] + [True] * (len(appends) - 1), f'append flags: {appends}'
    )

    # Really streamed: the Task came well before the completion, not all at once.
    spread = events[-1][0] - events[0][0]
    expect(spread >= 0.2, f'events spread over {spread:.3f}s, not buffered')
    print(
        f'ok stream events={len(events)} chunks={len(chunks)} spread={spread:.2f}s',
        flush=True,
    )


async def check_get(base: str, echo: str, sent: Task) -> None:
    factory = ClientFactory(ClientConfig())
    client = await factory.create_from_url(f'{base}/agents/{echo}')
    async with client:
        task = await client.get_task(GetTaskRequest(id=sent.id))
        expect(task.id == sent.id, f'same task: {task}')
        expect(task.context_id == sent.context_id, f'same context: {task}')
        expect(
            task.status.state == TaskState.TASK_STATE_COMPLETED,
            f'get: state {state_name(task.status.state)}',
        )
        expect(
            [get_artifact_text(a) for a in task.artifacts]
            == [get_artifact_text(a) for a in sent.artifacts],
            f'same artifacts: {task}',
        )
        listed = await client.list_tasks(
            ListTasksRequest(context_id=sent.context_id)
        )
        expect(
            [t.id for t in listed.tasks] == [sent.id], f'list by context: {listed}'
        )
    print(f'ok get state={state_name(task.status.state)}', flush=True)
    print(f'ok list total={listed.total_size}', flush=True)


async def check_cancel(base: str, agent: str) -> None:
    factory = ClientFactory(ClientConfig())
    client = await factory.create_from_url(f'{base}/agents/{agent}')
    async with client:
        # Start without waiting for the work: return_immediately. A
        # non-streaming client makes the SDK use SendMessage for this.
        starter = ClientFactory(ClientConfig(streaming=False)).create(
            await resolve_card(base, agent)
        )
        async with starter:
            request = user_message('line 9')
            request.configuration.CopyFrom(
                SendMessageConfiguration(return_immediately=True)
            )
            events = [e async for e in starter.send_message(request)]
        expect(len(events) == 1 and events[0].HasField('task'), f'a Task: {events}')
        started = events[0].task
        expect(
            started.status.state
            in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING),
            f'not final yet: {state_name(started.status.state)}',
        )

        # Watch it from another coroutine while it is cancelled.
        seen: list[StreamResponse] = []
        first_update = asyncio.Event()

        async def watch() -> None:
            subscription = SubscribeToTaskRequest(id=started.id)
            async for event in client.subscribe(subscription):
                seen.append(event)
                if len(seen) >= 2:
                    first_update.set()

        watcher = asyncio.create_task(watch())
        waiter = asyncio.create_task(first_update.wait())
        done, _ = await asyncio.wait(
            {watcher, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if watcher in done:
            watcher.result()  # raises what the subscription failed with
        expect(first_update.is_set(), f'subscription got an update: {seen}')

        cancelled = await client.cancel_task(CancelTaskRequest(id=started.id))
        expect(cancelled.id == started.id, f'same task: {cancelled}')
        expect(
            cancelled.status.state == TaskState.TASK_STATE_CANCELED,
            f'cancel: state {state_name(cancelled.status.state)}',
        )

        await asyncio.wait_for(watcher, timeout=15)
        expect(seen[0].HasField('task'), f'subscription starts with a Task: {seen[0]}')
        expect(seen[0].task.id == started.id, f'the same Task: {seen[0]}')
        expect(
            event_state(seen[-1]) == TaskState.TASK_STATE_CANCELED,
            f'subscription ends CANCELED: {seen[-1]}',
        )

        got = await client.get_task(GetTaskRequest(id=started.id))
        expect(
            got.status.state == TaskState.TASK_STATE_CANCELED,
            f'get after cancel: state {state_name(got.status.state)}',
        )
        done_parts = sum(len(a.parts) for a in got.artifacts)
        expect(done_parts < 30, f'stopped before all 30 stations: {done_parts}')
    print(
        f'ok cancel subscribed_events={len(seen)} stations_done={done_parts}',
        flush=True,
    )


async def main(base: str, echo: str, stream_agent: str, long_agent: str) -> None:
    print(f'a2a-sdk {version("a2a-sdk")}', flush=True)
    sent = await check_send(base, echo)
    await check_stream(base, stream_agent)
    await check_get(base, echo, sent)
    await check_cancel(base, long_agent)
    print('all checks passed', flush=True)


if __name__ == '__main__':
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
