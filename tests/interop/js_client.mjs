// Drives agents behind the gateway with the official JavaScript A2A client
// (@a2a-js/sdk, pinned in tests/interop/package.json).
//
// Usage: node js_client.mjs --mode MODE BASE_URL ECHO_AGENT STREAM_AGENT LONG_AGENT
//
// Its imports resolve from the node_modules next to it: tests/interop_js.rs
// installs the SDK into target/interop-node and runs this file through a link
// there (`node --preserve-symlinks-main target/interop-node/js_client.mjs`).
//
// MODE is the binding and protocol version the client speaks:
//
//   jsonrpc-1.0  JSON-RPC, A2A v1.0    (JsonRpcTransportFactory)
//   jsonrpc-0.3  JSON-RPC, A2A v0.3    (the same factory with legacyCompat: LegacyJsonRpcTransport)
//   rest-1.0     HTTP+JSON, A2A v1.0   (RestTransportFactory)
//   rest-0.3     HTTP+JSON, A2A v0.3   (the same factory with legacyCompat: LegacyRestTransport)
//
// @a2a-js/sdk 1.x implements A2A v1.0 natively; v0.3 is its opt-in
// compatibility layer (`legacyCompat: { enabled: true }` on the resolver and
// the transport factories).
//
// BASE_URL is the gateway (e.g. http://127.0.0.1:8080); each agent is an
// `org/unit/agent` path. ECHO_AGENT repeats its input, STREAM_AGENT is a short
// inspection that streams a few stations, LONG_AGENT a long one to cancel.
//
// Only the SDK's public client API is used, as an application would: the card
// resolver (DefaultAgentCardResolver), ClientFactory (createFromUrl /
// createFromAgentCard, `preferredTransports` picks the binding), and the
// Client's sendMessage, sendMessageStream, getTask, listTasks, cancelTask and
// resubscribeTask. Every transport gets the application's own `fetchImpl`,
// which records each request and what the gateway answered, so the script
// proves the dialect that went over the wire (A2A-Version header, JSON-RPC
// method names or REST paths) and the JSON-RPC id handling.
//
// Checks, per mode: card (the resolver's card, the binding and version the
// factory chose), send (blocking SendMessage), stream (Task first, then
// updates in order, ending COMPLETED, really streamed), get, list (v1.0 only),
// errors (TaskNotFound / TaskNotCancelable arrive as the SDK's typed errors),
// cancel (a long task started with returnImmediately, watched with
// resubscribeTask, cancelled), ids (JSON-RPC only) and wire.
//
// A known SDK defect is checked as such: @a2a-js/sdk 1.3.0's v0.3 REST
// transport drops `append` from artifact updates (see checkStream).
//
// Two things an application has to know, neither a gateway matter:
// * The resolver resolves `.well-known/agent-card.json` against the URL it is
//   given (WHATWG URL rules), so an agent URL with a path needs its trailing
//   slash (`.../agents/acme/plant1/echo/`); without it the card is looked up
//   one level up.
// * The request types are ts-proto messages: their toJSON expects every field
//   (`tenant: ''`, `status: TaskState.TASK_STATE_UNSPECIFIED`, ...), as the
//   TypeScript types require. A missing enum goes out as "UNRECOGNIZED".
//
// Prints `ok <mode> <check> ...` per passed check (`skip <mode> <check> (why)`
// where the mode has no such thing) and `all checks passed <mode> in ...` at
// the end. Any failure prints `FAIL <mode> <check>: ...` and the stack, and exits 1.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

let sdk;
try {
  sdk = {
    ...(await import('@a2a-js/sdk')),
    ...(await import('@a2a-js/sdk/client')),
    errors: await import('@a2a-js/sdk/errors'),
  };
} catch (e) {
  console.error(
    `cannot import @a2a-js/sdk (${e.message}); run this script through a link in a ` +
      'directory whose node_modules has the version pinned in tests/interop/package.json ' +
      '(see the top of this file)'
  );
  process.exit(2);
}
const {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  Role,
  TaskState,
  taskStateToJSON,
} = sdk;

const MODES = Object.fromEntries(
  [
    { name: 'jsonrpc-1.0', binding: 'JSONRPC', version: '1.0' },
    { name: 'jsonrpc-0.3', binding: 'JSONRPC', version: '0.3' },
    { name: 'rest-1.0', binding: 'HTTP+JSON', version: '1.0' },
    { name: 'rest-0.3', binding: 'HTTP+JSON', version: '0.3' },
  ].map((m) => [
    m.name,
    {
      ...m,
      legacy: m.version === '0.3',
      rest: m.binding === 'HTTP+JSON',
      // v0.3 has no ListTasks: the SDK's v0.3 transports throw without a request.
      hasList: m.version !== '0.3',
    },
  ])
);

// What the gateway's card lists for every agent (binding, version), in order.
const SERVED_INTERFACES = [
  ['JSONRPC', '1.0'],
  ['HTTP+JSON', '1.0'],
  ['JSONRPC', '0.3'],
  ['HTTP+JSON', '0.3'],
];

// The operation each JSON-RPC request is, by dialect.
const JSONRPC_METHODS = {
  '1.0': {
    SendMessage: 'send',
    SendStreamingMessage: 'stream',
    GetTask: 'get',
    ListTasks: 'list',
    CancelTask: 'cancel',
    SubscribeToTask: 'subscribe',
  },
  '0.3': {
    'message/send': 'send',
    'message/stream': 'stream',
    'tasks/get': 'get',
    'tasks/list': 'list',
    'tasks/cancel': 'cancel',
    'tasks/resubscribe': 'subscribe',
  },
};

// How long one SDK call may take before the script calls it hung.
const CALL_TIMEOUT_MS = 30_000;

function expect(condition, what) {
  if (!condition) {
    throw new Error(`expected: ${what}`);
  }
}

function stateName(state) {
  return state === undefined ? 'undefined' : taskStateToJSON(state);
}

/** Per-call options: a timeout, so a hang is a failure with a message. */
function callOptions() {
  return { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) };
}

/** The error `call` (a promise) is rejected with; it failing to fail is an error naming `what`. */
async function rejection(call, what) {
  return call.then(
    (answer) => {
      throw new Error(`${what} answered ${JSON.stringify(answer)}`);
    },
    (e) => e
  );
}

/** A complete SendMessageRequest for one user text (ts-proto wants every field). */
function userMessage(text) {
  return {
    tenant: '',
    message: {
      messageId: randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

function textOf(parts) {
  return (parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('');
}

function eventKind(event) {
  return event.payload?.$case ?? '<empty>';
}

function eventState(event) {
  switch (event.payload?.$case) {
    case 'task':
      return event.payload.value.status?.state;
    case 'statusUpdate':
      return event.payload.value.status?.state;
    default:
      return undefined;
  }
}

/** The `append` flag of each artifact update among the answers of one stream, as sent. */
function wireArtifactAppends(answers) {
  return answers.flatMap((answer) => {
    const item = 'jsonrpc' in answer ? answer.result : answer; // JSON-RPC wraps it
    if (item?.artifactUpdate !== undefined) {
      return [item.artifactUpdate.append === true]; // v1.0, and v0.3 REST (proto JSON)
    }
    if (item?.kind === 'artifact-update') {
      return [item.append === true]; // v0.3 JSON-RPC
    }
    return [];
  });
}

function isTask(result) {
  return result !== undefined && 'id' in result && 'status' in result && !('messageId' in result);
}

/** The `data:` payloads of an SSE body, one per event (comments skipped). */
function sseData(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length > 0) {
      events.push(data.join('\n'));
    }
  }
  return events;
}

/**
 * The application's fetch: records every request (verb, path, A2A-Version,
 * JSON-RPC method and id) and, for JSON-RPC and for every stream, what the
 * gateway answered (the body, or each SSE event, parsed), read from a clone
 * while the SDK reads the original.
 */
class Wire {
  constructor() {
    this.requests = [];
    this.pending = [];
  }

  fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers ?? {});
    const entry = {
      verb: (init.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      a2aVersion: headers.get('A2A-Version'),
      rpcMethod: null,
      rpcId: undefined,
      answers: [],
      status: undefined,
    };
    if (typeof init.body === 'string') {
      try {
        const body = JSON.parse(init.body);
        if (body?.jsonrpc === '2.0') {
          entry.rpcMethod = body.method;
          entry.rpcId = body.id;
        }
      } catch {
        // not JSON: a REST body of another kind; nothing to record
      }
    }
    this.requests.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    const stream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
    if (entry.rpcMethod !== null || stream) {
      // Read the clone concurrently: a stream must reach the SDK as it comes.
      const copy = response.clone();
      this.pending.push(
        copy.text().then((text) => {
          for (const data of stream ? sseData(text) : [text]) {
            try {
              entry.answers.push(JSON.parse(data));
            } catch {
              entry.answers.push({ unparsable: data.slice(0, 200) });
            }
          }
        })
      );
    }
    return response;
  };

  /** Waits for every answer copy to be read (all streams have ended by then). */
  async settle() {
    await Promise.all(this.pending);
  }
}

/**
 * A fetch that hands the SDK a JSON-RPC answer whose id was changed by
 * `tamper` (the body, or every SSE event), to prove the SDK checks ids.
 */
function tamperingFetch(inner, tamper) {
  return async (input, init = {}) => {
    const response = await inner(input, init);
    if (typeof init.body !== 'string' || !init.body.includes('"jsonrpc"')) {
      return response; // the card, or REST: left alone
    }
    const text = await response.text();
    const rewrite = (json) => {
      const value = JSON.parse(json);
      value.id = tamper(value.id);
      return JSON.stringify(value);
    };
    const stream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
    const body = stream
      ? sseData(text)
          .map((d) => `data: ${rewrite(d)}\n\n`)
          .join('')
      : rewrite(text);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(body, { status: response.status, headers });
  };
}

class Run {
  constructor(mode, base, wire) {
    this.mode = mode;
    this.base = base;
    this.wire = wire;
    this.started = performance.now();
  }

  ok(check, detail = '') {
    console.log(`ok ${this.mode.name} ${check} ${detail}`.trimEnd());
  }

  skip(check, why) {
    console.log(`skip ${this.mode.name} ${check} (${why})`);
  }

  agentUrl(agent) {
    return `${this.base}/agents/${agent}`;
  }

  legacyCompat() {
    return this.mode.legacy ? { enabled: true } : undefined;
  }

  resolver(fetchImpl = this.wire.fetch) {
    return new DefaultAgentCardResolver({ fetchImpl, legacyCompat: this.legacyCompat() });
  }

  /** A factory for this mode: the application's fetch, the mode's binding first. */
  factory({ fetchImpl = this.wire.fetch, polling = false } = {}) {
    const legacyCompat = this.legacyCompat();
    return new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [
          new JsonRpcTransportFactory({ fetchImpl, legacyCompat }),
          new RestTransportFactory({ fetchImpl, legacyCompat }),
        ],
        preferredTransports: [this.mode.binding],
        cardResolver: this.resolver(fetchImpl),
        clientConfig: { polling },
      })
    );
  }

  /** The agent's card as the SDK resolves it, checked against what the gateway serves. */
  async resolveCard(agent) {
    const agentUrl = this.agentUrl(agent);
    // Trailing slash: the well-known path is resolved relative to it.
    const card = await this.resolver().resolve(`${agentUrl}/`);
    const got = (card.supportedInterfaces ?? []).map((i) => [i.protocolBinding, i.protocolVersion]);
    expect(
      JSON.stringify(got) === JSON.stringify(SERVED_INTERFACES),
      `interfaces ${JSON.stringify(got)} == ${JSON.stringify(SERVED_INTERFACES)}`
    );
    for (const iface of card.supportedInterfaces) {
      expect(iface.url === agentUrl, `interface url ${iface.url} == ${agentUrl}`);
    }
    return card;
  }

  /**
   * The card the client is made from: for v0.3, only its 0.3 interfaces.
   * ClientFactory takes the best interface per binding, and a 1.0 one always
   * wins (and the transport factories prefer 1.0 among interfaces of one URL),
   * so a card that offers 1.0 never gets a v0.3 client; narrowing the resolved
   * card is how an application asks for 0.3.
   */
  forMode(card) {
    if (!this.mode.legacy) {
      return card;
    }
    const narrowed = {
      ...card,
      supportedInterfaces: card.supportedInterfaces.filter((i) => i.protocolVersion === '0.3'),
    };
    expect(narrowed.supportedInterfaces.length > 0, `0.3 interfaces in ${JSON.stringify(card)}`);
    return narrowed;
  }

  /** Checks that the factory chose this mode's binding and version. */
  checked(client) {
    expect(
      client.transport.protocolName === this.mode.binding,
      `${this.mode.name}: transport ${client.transport.protocolName} == ${this.mode.binding}`
    );
    expect(
      client.protocolVersion === this.mode.version,
      `${this.mode.name}: protocol version ${client.protocolVersion} == ${this.mode.version}`
    );
    return client;
  }

  /** A client for `agent`: from the URL (v1.0: the SDK resolves the card itself) or a resolved card. */
  async connect(agent, options = {}) {
    if (!this.mode.legacy && !options.fetchImpl) {
      return this.checked(await this.factory(options).createFromUrl(`${this.agentUrl(agent)}/`));
    }
    const card = this.forMode(await this.resolveCard(agent));
    return this.checked(await this.factory(options).createFromAgentCard(card));
  }

  async checkSend(echo) {
    const card = await this.resolveCard(echo);
    expect(card.capabilities?.streaming === true, 'echo card says streaming: true');
    const client = this.checked(await this.factory().createFromAgentCard(this.forMode(card)));
    this.ok(
      'card',
      `${card.name} -> ${card.supportedInterfaces[0].url} ` +
        `transport=${client.transport.protocolName} version=${client.protocolVersion}`
    );

    // Client.sendMessage blocks (returnImmediately: false) unless the client polls.
    const text = 'hello from the javascript @a2a-js/sdk';
    const task = await client.sendMessage(userMessage(text), callOptions());
    expect(isTask(task), `the response is a Task: ${JSON.stringify(task)}`);
    expect(
      task.status?.state === TaskState.TASK_STATE_COMPLETED,
      `send: state ${stateName(task.status?.state)}: ${JSON.stringify(task)}`
    );
    expect(task.artifacts.length === 1, `one artifact: ${JSON.stringify(task)}`);
    const got = textOf(task.artifacts[0].parts);
    expect(got === text, `artifact text ${JSON.stringify(got)} == ${JSON.stringify(text)}`);
    expect(task.id !== '' && task.contextId !== '', `ids set: ${JSON.stringify(task)}`);
    this.ok('send', `task=${task.id}`);
    return task;
  }

  async checkStream(agent) {
    const client = await this.connect(agent);
    const firstRequest = this.wire.requests.length;
    const started = performance.now();
    const events = [];
    for await (const event of client.sendMessageStream(userMessage('line 2'), callOptions())) {
      events.push({ at: (performance.now() - started) / 1000, event });
    }
    const kinds = events.map((e) => eventKind(e.event));
    expect(events.length >= 3, `several events: ${kinds}`);

    const first = events[0].event;
    const last = events[events.length - 1].event;
    expect(eventKind(first) === 'task', `first event is the Task: ${kinds}`);
    const taskId = first.payload.value.id;
    expect(
      eventState(last) === TaskState.TASK_STATE_COMPLETED,
      `last event says COMPLETED: ${JSON.stringify(last)}`
    );
    for (const { event } of events.slice(1)) {
      const kind = eventKind(event);
      expect(kind === 'statusUpdate' || kind === 'artifactUpdate', `updates after the Task: ${kinds}`);
      expect(event.payload.value.taskId === taskId, `update for task ${taskId}: ${JSON.stringify(event)}`);
    }

    // Order: the report chunks and the progress messages come station by station.
    const artifactUpdates = events
      .map((e) => e.event)
      .filter((e) => eventKind(e) === 'artifactUpdate')
      .map((e) => e.payload.value);
    const chunks = artifactUpdates.map((u) => textOf(u.artifact?.parts));
    expect(chunks.length > 0, `artifact chunks streamed: ${kinds}`);
    const want = chunks.map((_, i) => `station ${i + 1}: ok\n`);
    expect(JSON.stringify(chunks) === JSON.stringify(want), `chunks in order: ${JSON.stringify(chunks)}`);
    const progress = events
      .map((e) => e.event)
      .filter((e) => eventKind(e) === 'statusUpdate')
      .map((e) => textOf(e.payload.value.status?.message?.parts))
      .filter((t) => t.includes('station'));
    const stations = progress.map((p) => Number.parseInt(p.split('station ')[1], 10));
    expect(
      stations.length > 0 && stations.every((s, i) => i === 0 || stations[i - 1] <= s),
      `progress in order: ${JSON.stringify(progress)}`
    );
    // The first chunk starts the report, the others append to it: on the
    // wire, and as the SDK hands them over.
    const wantAppends = JSON.stringify([false, ...chunks.slice(1).map(() => true)]);
    await this.wire.settle();
    const streamed = this.wire.requests.slice(firstRequest).filter((r) => r.answers.length > 0);
    expect(streamed.length === 1, `one stream on the wire: ${JSON.stringify(streamed)}`);
    const wireAppends = JSON.stringify(wireArtifactAppends(streamed[0].answers));
    expect(wireAppends === wantAppends, `append flags on the wire: ${wireAppends}`);
    const appends = JSON.stringify(artifactUpdates.map((u) => u.append));
    let note = '';
    if (this.mode.rest && this.mode.legacy) {
      // @a2a-js/sdk 1.3.0 loses `append` on its v0.3 REST path: the
      // translation of the v0.3 proto TaskArtifactUpdateEvent
      // (FromProto.taskArtifactUpdateEvent) copies lastChunk but not append,
      // so every chunk reaches the application with append: false although
      // the gateway sent `"append": true` (checked above).
      expect(
        appends !== wantAppends,
        'the SDK keeps `append` on its v0.3 REST path now: drop this exception'
      );
      expect(
        artifactUpdates.every((u) => u.append === false),
        `the SDK's v0.3 REST append flags: ${appends}`
      );
      note = ' (the SDK drops append on v0.3 REST; the wire has it)';
    } else {
      expect(appends === wantAppends, `append flags from the SDK: ${appends}`);
    }

    // Really streamed: the Task came well before the completion, not all at once.
    const spread = events[events.length - 1].at - events[0].at;
    expect(spread >= 0.2, `events spread over ${spread.toFixed(3)}s, not buffered`);
    this.ok('stream', `events=${events.length} chunks=${chunks.length} spread=${spread.toFixed(2)}s${note}`);
  }

  async checkGet(echo, sent) {
    const client = await this.connect(echo);
    const task = await client.getTask({ tenant: '', id: sent.id }, callOptions());
    expect(task.id === sent.id, `same task: ${JSON.stringify(task)}`);
    expect(task.contextId === sent.contextId, `same context: ${JSON.stringify(task)}`);
    expect(
      task.status?.state === TaskState.TASK_STATE_COMPLETED,
      `get: state ${stateName(task.status?.state)}`
    );
    expect(
      JSON.stringify(task.artifacts.map((a) => textOf(a.parts))) ===
        JSON.stringify(sent.artifacts.map((a) => textOf(a.parts))),
      `same artifacts: ${JSON.stringify(task)}`
    );
    this.ok('get', `state=${stateName(task.status?.state)}`);

    const request = {
      tenant: '',
      contextId: sent.contextId,
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageToken: '',
    };
    if (!this.mode.hasList) {
      // The SDK's v0.3 transports have no ListTasks (v0.3 defines no
      // tasks/list) and throw before sending; make sure that is still why.
      const before = this.wire.requests.length;
      try {
        await client.listTasks(request, callOptions());
      } catch (e) {
        expect(this.wire.requests.length === before, `no request for a v0.3 listTasks: ${e}`);
        this.skip('list', `the SDK's v0.3 transport: ${e.name}: ${e.message}`);
        return;
      }
      throw new Error(`${this.mode.name}: listTasks is implemented now; check it`);
    }
    const listed = await client.listTasks(request, callOptions());
    expect(
      JSON.stringify(listed.tasks.map((t) => t.id)) === JSON.stringify([sent.id]),
      `list by context: ${JSON.stringify(listed)}`
    );
    this.ok('list', `total=${listed.totalSize}`);
  }

  /** A2A errors reach the application as the SDK's typed errors. */
  async checkErrors(echo, sent) {
    const client = await this.connect(echo);
    const unknown = randomUUID();
    const missing = await rejection(
      client.getTask({ tenant: '', id: unknown }, callOptions()),
      'getTask of an unknown task'
    );
    expect(
      missing instanceof sdk.errors.TaskNotFoundError,
      `getTask of an unknown task throws TaskNotFoundError, not ${missing.name}: ${missing.message}`
    );
    // The echo task is completed: cancelling it is refused.
    const final = await rejection(
      client.cancelTask({ tenant: '', id: sent.id, metadata: undefined }, callOptions()),
      'cancelTask of a completed task'
    );
    expect(
      final instanceof sdk.errors.TaskNotCancelableError,
      `cancelTask of a completed task throws TaskNotCancelableError, not ${final.name}: ${final.message}`
    );
    this.ok('errors', `${missing.constructor.name} ${final.constructor.name}`);
  }

  async checkCancel(agent) {
    const client = await this.connect(agent);
    // Start without waiting for the work: a polling client sends
    // returnImmediately (v0.3: blocking: false).
    const starter = await this.connect(agent, { polling: true });
    const started = await starter.sendMessage(userMessage('line 9'), callOptions());
    expect(isTask(started), `a Task: ${JSON.stringify(started)}`);
    expect(
      [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(started.status?.state),
      `not final yet: ${stateName(started.status?.state)}`
    );

    // Watch it from another async task while it is cancelled.
    const seen = [];
    let firstUpdate;
    const gotUpdate = new Promise((resolve) => {
      firstUpdate = resolve;
    });
    const watcher = (async () => {
      for await (const event of client.resubscribeTask({ tenant: '', id: started.id }, callOptions())) {
        seen.push(event);
        if (seen.length >= 2) {
          firstUpdate();
        }
      }
    })();
    const timeout = (ms, what) =>
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms).unref());
    // A watcher that fails before any update rejects this race with its error.
    await Promise.race([gotUpdate, watcher.then(() => {}), timeout(15_000, 'a subscription update')]);
    expect(seen.length >= 2, `subscription got an update: ${JSON.stringify(seen)}`);

    const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined }, callOptions());
    expect(cancelled.id === started.id, `same task: ${JSON.stringify(cancelled)}`);
    expect(
      cancelled.status?.state === TaskState.TASK_STATE_CANCELED,
      `cancel: state ${stateName(cancelled.status?.state)}`
    );

    await Promise.race([watcher, timeout(15_000, 'the subscription to end after the cancel')]);
    expect(eventKind(seen[0]) === 'task', `subscription starts with a Task: ${JSON.stringify(seen[0])}`);
    expect(seen[0].payload.value.id === started.id, `the same Task: ${JSON.stringify(seen[0])}`);
    expect(
      eventState(seen[seen.length - 1]) === TaskState.TASK_STATE_CANCELED,
      `subscription ends CANCELED: ${JSON.stringify(seen[seen.length - 1])}`
    );

    const got = await client.getTask({ tenant: '', id: started.id }, callOptions());
    expect(
      got.status?.state === TaskState.TASK_STATE_CANCELED,
      `get after cancel: state ${stateName(got.status?.state)}`
    );
    const doneParts = got.artifacts.reduce((n, a) => n + a.parts.length, 0);
    expect(doneParts < 30, `stopped before all 30 stations: ${doneParts}`);
    this.ok('cancel', `subscribed_events=${seen.length} stations_done=${doneParts}`);
  }

  /**
   * JSON-RPC ids: the SDK sends integer ids (a counter per transport) and
   * rejects an answer whose id differs in value or type (`!==`). Checked
   * three ways: every answer the gateway sent in this run (bodies, SSE events
   * and error responses, which the SDK itself does not check) has the
   * request's id, same type and value; ids near 2^53 (the largest a JS number
   * holds exactly) come back exact; and the pinned SDK really refuses a
   * tampered id, so the first two mean something.
   */
  async checkIds(echo) {
    if (this.mode.rest) {
      this.skip('ids', 'the REST binding has no JSON-RPC ids');
      return;
    }
    // Large ids: the transport's counter is a public field of its class.
    const client = await this.connect(echo);
    expect(
      typeof client.transport.requestIdCounter === 'number',
      'the JSON-RPC transport keeps its next id in requestIdCounter (the SDK changed: adapt this check)'
    );
    const big = Number.MAX_SAFE_INTEGER - 1;
    client.transport.requestIdCounter = big;
    const sent = await client.sendMessage(userMessage('big id'), callOptions());
    expect(isTask(sent), `send with id ${big}: ${JSON.stringify(sent)}`);
    let streamed = 0;
    for await (const _ of client.sendMessageStream(userMessage('bigger id'), callOptions())) {
      streamed += 1;
    }
    expect(streamed > 0, `stream with id ${big + 1}`);

    // Tampered ids: another type (a string of the same number), another value.
    const tampers = {
      string: (id) => String(id),
      value: (id) => (typeof id === 'number' ? id + 1 : 1),
    };
    for (const [kind, tamper] of Object.entries(tampers)) {
      const tampered = await this.connect(echo, { fetchImpl: tamperingFetch(this.wire.fetch, tamper) });
      const refused = await tampered.sendMessage(userMessage(`tampered ${kind}`), callOptions()).then(
        () => null,
        (e) => e
      );
      expect(
        refused !== null && /ID mismatch/i.test(refused.message),
        `the SDK refuses an answer with a ${kind}-tampered id: ${refused}`
      );
      let streamRefused = null;
      try {
        for await (const _ of tampered.sendMessageStream(userMessage(`tampered ${kind} stream`), callOptions())) {
          // the first event must already be refused
        }
      } catch (e) {
        streamRefused = e;
      }
      expect(
        streamRefused !== null && /ID mismatch/i.test(streamRefused.message),
        `the SDK refuses an SSE event with a ${kind}-tampered id: ${streamRefused}`
      );
    }

    await this.wire.settle();
    let answers = 0;
    let maxId = 0;
    for (const r of this.wire.requests) {
      if (r.rpcMethod === null) {
        continue;
      }
      const what = `${r.rpcMethod} id=${JSON.stringify(r.rpcId)} status=${r.status}`;
      expect(Number.isSafeInteger(r.rpcId) && r.rpcId > 0, `the SDK sent a positive integer id: ${what}`);
      expect(r.answers.length > 0, `an answer to ${what}`);
      for (const a of r.answers) {
        expect('id' in a, `the answer has an id: ${what}: ${JSON.stringify(a)}`);
        expect(
          a.id === r.rpcId,
          `the answer's id ${JSON.stringify(a.id)} (${typeof a.id}) is the request's: ${what}`
        );
        answers += 1;
      }
      maxId = Math.max(maxId, r.rpcId);
    }
    expect(maxId === big + 1, `the largest id on the wire ${maxId} == ${big + 1}`);
    this.ok('ids', `answers=${answers} max_id=${maxId} tampered_type_and_value=refused`);
  }

  /** Every call to an agent went out in this mode's dialect; returns the operations. */
  checkWire(agentPaths) {
    const ops = [];
    for (const r of this.wire.requests) {
      const what = `${r.verb} ${r.path} A2A-Version=${r.a2aVersion} method=${r.rpcMethod}`;
      if (r.path.endsWith('/.well-known/agent-card.json')) {
        // The SDK's resolver always announces its native version; the card
        // the gateway serves for 1.0 lists the 0.3 interfaces too.
        expect(r.verb === 'GET' && r.a2aVersion === '1.0', `card request: ${what}`);
        continue;
      }
      expect(
        r.a2aVersion === this.mode.version,
        `${this.mode.name}: A2A-Version ${this.mode.version}: ${what}`
      );
      let op;
      if (this.mode.rest) {
        const base = agentPaths.find((a) => r.path.startsWith(`${a}/`));
        expect(base !== undefined, `${this.mode.name}: REST path of an agent: ${what}`);
        let below = r.path.slice(base.length + 1);
        if (this.mode.legacy) {
          expect(below.startsWith('v1/'), `v0.3 REST path /v1/...: ${what}`);
          below = below.slice('v1/'.length);
        } else {
          expect(!below.startsWith('v1/'), `v1.0 REST path: ${what}`);
        }
        op = restOperation(r.verb, below);
        expect(op !== undefined, `${this.mode.name}: a REST operation: ${what}`);
        expect(r.rpcMethod === null, `REST, not JSON-RPC: ${what}`);
      } else {
        expect(
          r.verb === 'POST' && agentPaths.includes(r.path.replace(/\/+$/, '')),
          `${this.mode.name}: JSON-RPC POST to an agent URL: ${what}`
        );
        op = JSONRPC_METHODS[this.mode.version][r.rpcMethod];
        expect(op !== undefined, `${this.mode.name}: a v${this.mode.version} JSON-RPC method: ${what}`);
      }
      ops.push(op);
    }
    const want = ['send', 'stream', 'get', 'cancel', 'subscribe', ...(this.mode.hasList ? ['list'] : [])];
    const got = [...new Set(ops)];
    expect(
      JSON.stringify([...got].sort()) === JSON.stringify([...want].sort()),
      `${this.mode.name}: operations on the wire ${JSON.stringify(got.sort())} == ${JSON.stringify(want.sort())}`
    );
    let dialect = 'JSON-RPC';
    if (this.mode.rest) {
      dialect = this.mode.legacy ? 'REST /v1/...' : 'REST';
    }
    this.ok('wire', `requests=${ops.length} A2A-Version=${this.mode.version} dialect=${dialect}`);
  }
}

/** The operation a REST request is (path below the agent URL). */
function restOperation(verb, path) {
  if (verb === 'POST' && path === 'message:send') return 'send';
  if (verb === 'POST' && path === 'message:stream') return 'stream';
  if (verb === 'GET' && path === 'tasks') return 'list';
  if (path.startsWith('tasks/') && !path.slice('tasks/'.length).includes('/')) {
    const rest = path.slice('tasks/'.length);
    if (verb === 'POST' && rest.endsWith(':cancel')) return 'cancel';
    if ((verb === 'POST' || verb === 'GET') && rest.endsWith(':subscribe')) return 'subscribe';
    if (verb === 'GET' && !rest.includes(':')) return 'get';
  }
  return undefined;
}

function sdkVersion() {
  // package.json is not in the package's exports: read it next to the entry point.
  const entry = new URL(import.meta.resolve('@a2a-js/sdk'));
  const pkg = JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8'));
  expect(pkg.name === '@a2a-js/sdk', `the package.json above the entry point is the SDK's: ${pkg.name}`);
  return pkg.version;
}

async function main() {
  const { values, positionals } = parseArgs({
    options: { mode: { type: 'string' } },
    allowPositionals: true,
  });
  const mode = MODES[values.mode];
  if (mode === undefined || positionals.length !== 4) {
    console.error(
      `usage: node js_client.mjs --mode {${Object.keys(MODES).join(',')}} BASE_URL ECHO_AGENT STREAM_AGENT LONG_AGENT`
    );
    process.exit(2);
  }
  const [base, echo, streamAgent, longAgent] = positionals;
  console.log(`@a2a-js/sdk ${sdkVersion()} node ${process.version}`);

  const run = new Run(mode, base.replace(/\/+$/, ''), new Wire());
  let check = 'setup';
  const step = (name, f) => {
    check = name;
    return f();
  };
  try {
    const sent = await step('send', () => run.checkSend(echo));
    await step('stream', () => run.checkStream(streamAgent));
    await step('get', () => run.checkGet(echo, sent));
    await step('errors', () => run.checkErrors(echo, sent));
    await step('cancel', () => run.checkCancel(longAgent));
    await step('ids', () => run.checkIds(echo));
    await step('wire', async () => {
      await run.wire.settle();
      const agentPaths = [echo, streamAgent, longAgent].map((a) => new URL(run.agentUrl(a)).pathname);
      run.checkWire(agentPaths);
    });
  } catch (e) {
    console.log(`FAIL ${mode.name} ${check}: ${e.name}: ${e.message}`);
    console.error(e);
    process.exit(1);
  }
  const elapsed = (performance.now() - run.started) / 1000;
  console.log(`all checks passed ${mode.name} in ${elapsed.toFixed(2)}s`);
  // Idle keep-alive sockets would keep the process up a little: leave now.
  process.exit(0);
}

process.on('unhandledRejection', (e) => {
  console.log(`FAIL: unhandled rejection: ${e?.message ?? e}`);
  console.error(e);
  process.exit(1);
});

await main();
