"""Drives agents behind the gateway with the official Python A2A client (a2a-sdk).

Usage: python_client.py --mode MODE BASE_URL ECHO_AGENT STREAM_AGENT LONG_AGENT

MODE is the binding and protocol version the client speaks:

  jsonrpc-1.0  JSON-RPC, A2A v1.0        (JsonRpcTransport)
  jsonrpc-0.3  JSON-RPC, A2A v0.3        (a2a.compat.v0_3 CompatJsonRpcTransport)
  rest-1.0     HTTP+JSON, A2A v1.0       (RestTransport)
  rest-0.3     HTTP+JSON, A2A v0.3       (a2a.compat.v0_3 CompatRestTransport)

BASE_URL is the gateway (e.g. http://127.0.0.1:8080); each agent is an
`org/unit/agent` path. ECHO_AGENT repeats its input, STREAM_AGENT is a short
inspection that streams a few stations, LONG_AGENT a long one to cancel.

Only the SDK's public client API is used, as an application would: the card
resolver, the client factory (`ClientConfig.supported_protocol_bindings`
picks the binding; for v0.3 the card the SDK resolved is narrowed to its
protocolVersion 0.3 interfaces, since the factory prefers 1.0 whenever a card
offers it), `send_message`, `get_task`, `cancel_task`, `subscribe`,
`list_tasks`. The application's own `httpx.AsyncClient` (ClientConfig
.httpx_client) records every request, so the script proves the dialect that
went over the wire (A2A-Version header, JSON-RPC method names or REST paths),
and it checks the transport class the factory chose. The v0.3 transports have
no ListTasks (they raise NotImplementedError): list is skipped there.

Prints `ok <mode> <check> ...` per passed check (`skip <mode> list ...` where
the client has no ListTasks) and `all checks passed <mode>` at the end; any
failure raises, so Python prints the traceback and exits non-zero.
"""

import argparse
import asyncio
import json
import sys
import time

from dataclasses import dataclass
from importlib.metadata import version
from urllib.parse import urlsplit

try:
    import httpx

    from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
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


@dataclass(frozen=True)
class Mode:
    name: str
    binding: str  # AgentInterface.protocol_binding
    protocol_version: str  # AgentInterface.protocol_version
    transport_class: str  # what ClientFactory must pick
    has_list: bool  # whether the SDK's transport implements ListTasks

    @property
    def legacy(self) -> bool:
        return self.protocol_version == '0.3'

    @property
    def rest(self) -> bool:
        return self.binding == 'HTTP+JSON'


MODES = {
    m.name: m
    for m in [
        Mode('jsonrpc-1.0', 'JSONRPC', '1.0', 'JsonRpcTransport', True),
        Mode('jsonrpc-0.3', 'JSONRPC', '0.3', 'CompatJsonRpcTransport', False),
        Mode('rest-1.0', 'HTTP+JSON', '1.0', 'RestTransport', True),
        Mode('rest-0.3', 'HTTP+JSON', '0.3', 'CompatRestTransport', False),
    ]
}

# What the gateway's card lists for every agent (binding, version), in order.
SERVED_INTERFACES = [
    ('JSONRPC', '1.0'),
    ('HTTP+JSON', '1.0'),
    ('JSONRPC', '0.3'),
    ('HTTP+JSON', '0.3'),
]

# The operation each request on the wire is, by dialect.
JSONRPC_METHODS = {
    '1.0': {
        'SendMessage': 'send',
        'SendStreamingMessage': 'stream',
        'GetTask': 'get',
        'ListTasks': 'list',
        'CancelTask': 'cancel',
        'SubscribeToTask': 'subscribe',
    },
    '0.3': {
        'message/send': 'send',
        'message/stream': 'stream',
        'tasks/get': 'get',
        'tasks/list': 'list',
        'tasks/cancel': 'cancel',
        'tasks/resubscribe': 'subscribe',
    },
}


def rest_operation(verb: str, path: str) -> str | None:
    """The operation a REST request is (path below the agent URL)."""
    if verb == 'POST' and path == 'message:send':
        return 'send'
    if verb == 'POST' and path == 'message:stream':
        return 'stream'
    if verb == 'GET' and path == 'tasks':
        return 'list'
    if path.startswith('tasks/') and '/' not in path[len('tasks/') :]:
        rest = path[len('tasks/') :]
        if verb == 'POST' and rest.endswith(':cancel'):
            return 'cancel'
        if verb in ('POST', 'GET') and rest.endswith(':subscribe'):
            return 'subscribe'
        if verb == 'GET' and ':' not in rest:
            return 'get'
    return None


class Wire:
    """Records what the client sends, from the application's httpx client."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None, str | None]] = []

    async def on_request(self, request: httpx.Request) -> None:
        rpc_method = None
        if request.method == 'POST' and request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get('jsonrpc') == '2.0':
                rpc_method = body.get('method')
        self.requests.append(
            (
                request.method,
                request.url.path,
                request.headers.get('A2A-Version'),
                rpc_method,
            )
        )

    def check(self, mode: Mode, agent_paths: list[str]) -> list[str]:
        """Every call to an agent was in `mode`'s dialect; returns the operations."""
        ops = []
        for verb, path, a2a_version, rpc_method in self.requests:
            if path.endswith('/.well-known/agent-card.json'):
                continue
            what = f'{verb} {path} A2A-Version={a2a_version} method={rpc_method}'
            expect(
                a2a_version == mode.protocol_version,
                f'{mode.name}: A2A-Version {mode.protocol_version}: {what}',
            )
            if mode.rest:
                base = next(
                    (a for a in agent_paths if path.startswith(a + '/')), None
                )
                expect(base is not None, f'{mode.name}: REST path of an agent: {what}')
                below = path[len(base) + 1 :]
                if mode.legacy:
                    expect(below.startswith('v1/'), f'v0.3 REST path /v1/...: {what}')
                    below = below[len('v1/') :]
                else:
                    expect(not below.startswith('v1/'), f'v1.0 REST path: {what}')
                op = rest_operation(verb, below)
                expect(op is not None, f'{mode.name}: a REST operation: {what}')
                expect(rpc_method is None, f'REST, not JSON-RPC: {what}')
            else:
                expect(
                    verb == 'POST' and path.rstrip('/') in agent_paths,
                    f'{mode.name}: JSON-RPC POST to an agent URL: {what}',
                )
                op = JSONRPC_METHODS[mode.protocol_version].get(rpc_method or '')
                expect(
                    op is not None,
                    f'{mode.name}: a v{mode.protocol_version} JSON-RPC method: {what}',
                )
            ops.append(op)
        return ops


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


class Run:
    """One mode against one gateway."""

    def __init__(self, mode: Mode, base: str, http: httpx.AsyncClient) -> None:
        self.mode = mode
        self.base = base
        self.http = http

    def ok(self, check: str, detail: str = '') -> None:
        print(f'ok {self.mode.name} {check} {detail}'.rstrip(), flush=True)

    def config(self, streaming: bool = True) -> ClientConfig:
        return ClientConfig(
            streaming=streaming,
            supported_protocol_bindings=[self.mode.binding],
            httpx_client=self.http,
        )

    async def resolve_card(self, agent: str) -> AgentCard:
        """Fetches `{base}/agents/{agent}/.well-known/agent-card.json` with the SDK.

        A plain HTTP client, as a first contact would be: no A2A-Version, so
        the gateway serves the card both v0.3 and v1.0 clients read.
        """
        agent_url = f'{self.base}/agents/{agent}'
        async with httpx.AsyncClient() as http:
            card = await A2ACardResolver(http, agent_url).get_agent_card()
        got = [
            (i.protocol_binding, i.protocol_version) for i in card.supported_interfaces
        ]
        expect(got == SERVED_INTERFACES, f'interfaces {got} == {SERVED_INTERFACES}')
        for iface in card.supported_interfaces:
            expect(iface.url == agent_url, f'url {iface.url!r} == {agent_url!r}')
        return card

    def for_mode(self, card: AgentCard) -> AgentCard:
        """The card the client is given: for v0.3, only its 0.3 interfaces.

        ClientFactory picks the binding from supported_protocol_bindings, then
        within it always prefers a 1.0 interface (ClientFactory
        ._find_best_interface), so a card that offers 1.0 never gets a v0.3
        client; narrowing the resolved card is how an application asks for 0.3.
        """
        if not self.mode.legacy:
            return card
        narrowed = AgentCard()
        narrowed.CopyFrom(card)
        del narrowed.supported_interfaces[:]
        narrowed.supported_interfaces.extend(
            i for i in card.supported_interfaces if i.protocol_version == '0.3'
        )
        expect(len(narrowed.supported_interfaces) > 0, f'0.3 interfaces in {card}')
        return narrowed

    def client(self, card: AgentCard, streaming: bool = True) -> Client:
        client = ClientFactory(self.config(streaming)).create(self.for_mode(card))
        # The transport the factory chose (BaseClient keeps it in _transport);
        # the wire check at the end proves the same from the requests.
        transport = type(getattr(client, '_transport', None)).__name__
        expect(
            transport == self.mode.transport_class,
            f'{self.mode.name}: transport {transport} == {self.mode.transport_class}',
        )
        return client

    async def connect(self, agent: str) -> Client:
        """A streaming client for `agent`, from a card the SDK resolves."""
        if self.mode.legacy:
            return self.client(await self.resolve_card(agent))
        # create_from_url resolves the card itself (same well-known path, with
        # the factory's A2A-Version: 1.0, so the gateway serves the v1.0 card).
        return await ClientFactory(self.config()).create_from_url(
            f'{self.base}/agents/{agent}'
        )

    async def check_send(self, echo: str) -> Task:
        card = await self.resolve_card(echo)
        expect(card.capabilities.streaming, 'echo card says streaming: true')
        self.ok(
            'card',
            f'{card.name} -> {card.supported_interfaces[0].url} '
            f'transport={self.mode.transport_class}',
        )

        # The card says streaming, so the SDK would stream by default; ask for
        # a plain blocking SendMessage instead.
        client = self.client(card, streaming=False)
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
        self.ok('send', f'task={task.id}')
        return task

    async def check_stream(self, agent: str) -> None:
        client = await self.connect(agent)
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
            update = (
                e.status_update if e.HasField('status_update') else e.artifact_update
            )
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
            appends == [False] + [True] * (len(appends) - 1),
            f'append flags: {appends}',
        )

        # Really streamed: the Task came well before the completion, not all at once.
        spread = events[-1][0] - events[0][0]
        expect(spread >= 0.2, f'events spread over {spread:.3f}s, not buffered')
        self.ok(
            'stream', f'events={len(events)} chunks={len(chunks)} spread={spread:.2f}s'
        )

    async def check_get(self, echo: str, sent: Task) -> None:
        client = await self.connect(echo)
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
            self.ok('get', f'state={state_name(task.status.state)}')

            request = ListTasksRequest(context_id=sent.context_id)
            if not self.mode.has_list:
                # The SDK's v0.3 transports have no ListTasks (v0.3 defines no
                # tasks/list); make sure that is still why it is skipped.
                try:
                    await client.list_tasks(request)
                except NotImplementedError as e:
                    print(f'skip {self.mode.name} list ({e})', flush=True)
                    return
                raise AssertionError(
                    f'{self.mode.name}: list_tasks is implemented now; check it'
                )
            listed = await client.list_tasks(request)
        expect([t.id for t in listed.tasks] == [sent.id], f'list by context: {listed}')
        self.ok('list', f'total={listed.total_size}')

    async def check_cancel(self, agent: str) -> None:
        client = await self.connect(agent)
        async with client:
            # Start without waiting for the work: return_immediately. A
            # non-streaming client makes the SDK use SendMessage for this.
            starter = self.client(await self.resolve_card(agent), streaming=False)
            async with starter:
                request = user_message('line 9')
                request.configuration.CopyFrom(
                    SendMessageConfiguration(return_immediately=True)
                )
                events = [e async for e in starter.send_message(request)]
            expect(
                len(events) == 1 and events[0].HasField('task'), f'a Task: {events}'
            )
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
            expect(
                seen[0].HasField('task'), f'subscription starts with a Task: {seen[0]}'
            )
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
        self.ok('cancel', f'subscribed_events={len(seen)} stations_done={done_parts}')


async def main(
    mode: Mode, base: str, echo: str, stream_agent: str, long_agent: str
) -> None:
    print(f'a2a-sdk {version("a2a-sdk")}', flush=True)
    started = time.monotonic()
    wire = Wire()
    # The application's HTTP client, shared by every A2A client it makes
    # (ClientConfig.httpx_client); its hook records the requests.
    async with httpx.AsyncClient(event_hooks={'request': [wire.on_request]}) as http:
        run = Run(mode, base, http)
        sent = await run.check_send(echo)
        await run.check_stream(stream_agent)
        await run.check_get(echo, sent)
        await run.check_cancel(long_agent)

    agent_paths = [
        urlsplit(f'{base}/agents/{a}').path for a in (echo, stream_agent, long_agent)
    ]
    ops = wire.check(mode, agent_paths)
    want = {'send', 'stream', 'get', 'cancel', 'subscribe'} | (
        {'list'} if mode.has_list else set()
    )
    expect(
        set(ops) == want,
        f'{mode.name}: operations on the wire {sorted(set(ops))} == {sorted(want)}',
    )
    dialect = 'JSON-RPC'
    if mode.rest:
        dialect = 'REST /v1/...' if mode.legacy else 'REST'
    run.ok(
        'wire',
        f'requests={len(ops)} A2A-Version={mode.protocol_version} dialect={dialect}',
    )
    elapsed = time.monotonic() - started
    print(f'all checks passed {mode.name} in {elapsed:.2f}s', flush=True)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--mode', required=True, choices=sorted(MODES))
    parser.add_argument('base')
    parser.add_argument('echo')
    parser.add_argument('stream_agent')
    parser.add_argument('long_agent')
    args = parser.parse_args()
    asyncio.run(
        main(MODES[args.mode], args.base, args.echo, args.stream_agent, args.long_agent)
    )
