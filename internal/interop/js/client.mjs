// An MCP client that is not the Go SDK: the official TypeScript SDK, as Claude
// Code, Cursor and the MCP Inspector run it. interop_test.go drives it against
// a real Velos daemon, over stdio (velos mcp-server) or streamable HTTP.
//
//   node client.mjs --stdio VELOS_BIN      (VELOS_HOME from the environment)
//   node client.mjs --http URL --token-file PATH
//   [--protocol V1,V2,…]  one session per version, asking for it instead of
//                         the SDK's latest ("" or "default": the SDK's own)
//   [--name NAME]         the process to start (default interop), with the
//                         version's digits appended after the first session
//   [--schemas DIR]       the repository's schemas/: each structuredContent is
//                         also checked against its tool's whole resultSchema
//
// It fails (exit 1, the reason on stderr) on the first thing a real client
// would trip over, and prints on stdout a JSON array with one report per
// session of what it saw, for the Go test to check against the registry.
// One node process runs every session: node and the SDK start once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import Ajv2020 from 'ajv/dist/2020.js';

const { values: opt } = parseArgs({
  options: {
    stdio: { type: 'string' },
    http: { type: 'string' },
    'token-file': { type: 'string' },
    protocol: { type: 'string' },
    name: { type: 'string', default: 'interop' },
    schemas: { type: 'string' },
  },
});

// How long to wait for the daemon's own signal (a notification) before
// calling it a failure.
const WAIT_MS = 10_000;

function fail(msg) {
  throw new Error(msg);
}

// Pinned wraps a transport: it records the protocol version the server
// answers initialize with and, when asked, requests an older version than the
// SDK's latest (the SDK has no option for it; it accepts any version it
// supports in the answer).
class Pinned {
  constructor(inner, version) {
    this.inner = inner;
    this.version = version;
    this.negotiated = undefined;
    this.initId = undefined;
  }
  get sessionId() { return this.inner.sessionId; }
  setProtocolVersion(v) { this.inner.setProtocolVersion?.(v); }
  async start() {
    this.inner.onmessage = (m, extra) => {
      if (m.id !== undefined && m.id === this.initId && m.result) this.negotiated = m.result.protocolVersion;
      this.onmessage?.(m, extra);
    };
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onclose = () => this.onclose?.();
    return this.inner.start();
  }
  async send(m, o) {
    if (m.method === 'initialize') {
      this.initId = m.id;
      if (this.version) m = { ...m, params: { ...m.params, protocolVersion: this.version } };
    }
    return this.inner.send(m, o);
  }
  async close() { return this.inner.close(); }
}

function transport() {
  if (opt.stdio) {
    return new StdioClientTransport({
      command: opt.stdio, args: ['mcp-server'],
      env: { ...process.env }, stderr: 'inherit',
    });
  }
  if (opt.http) {
    const token = readFileSync(opt['token-file'], 'utf8').trim();
    return new StreamableHTTPClientTransport(new URL(opt.http), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
  }
  fail('say --stdio VELOS_BIN or --http URL --token-file PATH');
}

function text(res) {
  return (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
}

// waitFor resolves with the first value check returns that is not undefined,
// or rejects after WAIT_MS naming what it waited for.
function waiter(what) {
  let resolve;
  const p = new Promise((r) => { resolve = r; });
  const timer = setTimeout(() => resolve(undefined), WAIT_MS);
  return {
    done: (v) => { clearTimeout(timer); resolve(v); },
    wait: async () => (await p) ?? fail(`no ${what} within ${WAIT_MS} ms`),
  };
}

async function main() {
  const reports = [];
  for (const v of (opt.protocol ?? '').split(',')) {
    const version = v === 'default' ? '' : v;
    const name = opt.name + version.replaceAll('-', '');
    reports.push({ requested: version, name, ...(await session(version, name)) });
  }
  process.stdout.write(JSON.stringify(reports) + '\n');
}

// session runs the whole scenario on a new connection, asking for version
// ("" = the SDK's latest), with a process called name.
async function session(version, name) {
  const report = { calls: {}, prompts: {} };
  const t = new Pinned(transport(), version);
  const client = new Client({ name: 'velos-interop', version: '1.0.0' }, { capabilities: {} });
  const updates = [];
  let onUpdate = () => {};
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
    onUpdate(n.params.uri);
  });
  await client.connect(t);
  report.protocolVersion = t.negotiated;
  report.server = client.getServerVersion();
  const caps = client.getServerCapabilities() ?? {};
  report.capabilities = Object.keys(caps).sort();

  // tools/list: the SDK parses every tool with its own schema (an outputSchema
  // property that is a boolean fails here, and with it the whole list).
  const { tools } = await client.listTools();
  report.tools = tools.map((x) => x.name);
  const byName = Object.fromEntries(tools.map((x) => [x.name, x]));

  // Every schema compiles under JSON Schema 2020-12, strictly: no unknown
  // keyword, no boolean subschema slipping through as a typo.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // A served outputSchema names the keys every result has (required) and
  // leaves their schemas to schemas/<tool>.json, to spare tokens: that is
  // valid JSON Schema, which only ajv's strictRequired lint objects to.
  const ajvOut = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  const validators = {};
  report.schemaErrors = [];
  for (const x of tools) {
    for (const which of ['inputSchema', 'outputSchema']) {
      if (!x[which]) continue;
      try {
        const v = (which === 'outputSchema' ? ajvOut : ajv).compile(x[which]);
        if (which === 'outputSchema') validators[x.name] = v;
      } catch (e) {
        report.schemaErrors.push(`${x.name} ${which}: ${e.message}`);
      }
    }
  }

  // call runs a tool through the SDK (which validates structuredContent with
  // its own validator) and validates it again under 2020-12.
  async function call(tool, args, options) {
    if (!byName[tool]) fail(`tools/list has no ${tool}`);
    const res = await client.callTool({ name: tool, arguments: args }, undefined, options);
    const out = text(res);
    if (res.isError) fail(`${tool}: tool error: ${out}`);
    const v = validators[tool];
    if (!v) fail(`${tool}: no outputSchema`);
    if (res.structuredContent === undefined) fail(`${tool}: no structuredContent`);
    if (!v(res.structuredContent)) {
      fail(`${tool}: structuredContent does not match its outputSchema: ${ajv.errorsText(v.errors)}`);
    }
    // tools/list carries the top level of each output; schemas/<tool>.json
    // has every level (resultSchema): the structured content must meet both.
    if (opt.schemas) {
      const file = JSON.parse(readFileSync(join(opt.schemas, `${tool}.json`), 'utf8'));
      const full = ajv.compile(file.resultSchema);
      if (!full(res.structuredContent)) {
        fail(`${tool}: structuredContent does not match schemas/${tool}.json resultSchema: ${ajv.errorsText(full.errors)}`);
      }
      report.resultChecked = (report.resultChecked ?? 0) + 1;
    }
    report.calls[tool] = { text: out, structured: res.structuredContent };
    return res;
  }

  // A process that prints one line each time it starts.
  await call('process_start', {
    script: 'sh', args: ['-c', `echo "interop hello $$"; echo "ERROR interop failure" >&2; exec sleep 300`], name,
  });
  await call('process_list', {});

  // Resources: the template is listed; a subscriber hears of the line the
  // restart prints, then reads it.
  const uri = `velos://logs/${name}`;
  const { resourceTemplates } = await client.listResourceTemplates();
  report.resourceTemplates = resourceTemplates.map((r) => r.uriTemplate);
  const { resources } = await client.listResources();
  report.resources = resources.map((r) => r.uri);
  // velos://events too: the restart is an event with its cause.
  const eventsURI = 'velos://events';
  const heard = waiter(`notifications/resources/updated for ${uri}`);
  const heardEvent = waiter(`a restart event of ${name} in ${eventsURI}`);
  const restartEvent = async () => {
    const r = await client.readResource({ uri: eventsURI });
    const events = r.contents.map((c) => c.text ?? '').join('').split('\n').filter((l) => l).map((l) => JSON.parse(l));
    return events.find((e) => e.kind === 'restart' && e.name === name);
  };
  onUpdate = (u) => {
    if (u === uri) heard.done(u);
    if (u === eventsURI) restartEvent().then((e) => { if (e) heardEvent.done(e); });
  };
  await client.subscribeResource({ uri });
  await client.subscribeResource({ uri: eventsURI });
  await call('process_restart', { target: name });
  await heard.wait();
  report.restartEvent = await heardEvent.wait();
  onUpdate = () => {};
  const read = await client.readResource({ uri });
  report.resourceText = read.contents.map((c) => c.text ?? '').join('');
  report.updates = updates.length;
  await client.unsubscribeResource({ uri });
  await client.unsubscribeResource({ uri: eventsURI });

  await call('process_logs', { target: name });
  await call('log_summary', { target: name });

  // Prompts: every one, its required arguments given the process's name.
  const { prompts } = await client.listPrompts();
  for (const p of prompts) {
    const args = {};
    for (const a of p.arguments ?? []) if (a.required) args[a.name] = name;
    const got = await client.getPrompt({ name: p.name, arguments: args });
    report.prompts[p.name] = got.messages.map((m) => m.content.text ?? '').join('\n');
  }

  // Completion of a process name in the first prompt argument. Only what
  // the server offers is asserted by the Go test: a server without the
  // completions capability must answer method-not-found, not hang or lie.
  if (prompts.length > 0 && prompts[0].arguments?.length > 0) {
    const ref = { type: 'ref/prompt', name: prompts[0].name };
    const argument = { name: prompts[0].arguments[0].name, value: name.slice(0, 3) };
    try {
      const c = await client.complete({ ref, argument });
      report.completion = { values: c.completion.values };
    } catch (e) {
      report.completion = { code: e.code, error: e.message };
    }
  }

  await call('process_stop', { target: name });

  // process_stop with a progress token (the SDK sets one for onprogress), of
  // a process that takes a moment to stop: the SDK drops a notification
  // that arrives together with the answer (it runs handlers a microtask
  // later), so the stop must last longer than a read.
  report.progress = [];
  const slow = `${name}-slow`;
  const begun = await client.callTool({ name: 'process_start',
    arguments: { script: 'sh', args: ['-c', 'trap "sleep 0.3; exit 0" TERM; while :; do sleep 1; done'], name: slow } });
  if (begun.isError) fail(`process_start ${slow}: ${text(begun)}`);
  const stopped = await client.callTool({ name: 'process_stop', arguments: { target: slow } }, undefined,
    { onprogress: (p) => report.progress.push(p.message ?? '') });
  if (stopped.isError) fail(`process_stop ${slow}: ${text(stopped)}`);
  await client.callTool({ name: 'process_delete', arguments: { target: slow } });
  await client.close();
  return report;
}

main().catch((e) => {
  process.stderr.write(`interop: ${e?.stack ?? e}\n`);
  process.exit(1);
});
