// A read-only agent through the official TypeScript SDK: the server behind
// `velos mcp-server --read-only` (stdio) or the read-only HTTP token must
// list no tool that changes state and refuse one called by name.
//
//   node readonly.mjs --stdio VELOS_BIN --target NAME
//   node readonly.mjs --http URL --token-file PATH --target NAME
//
// Prints {"tools":[…],"annotations":{name:readOnlyHint},"stop":{"isError":…,"text":…}}.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { values: opt } = parseArgs({
  options: {
    stdio: { type: 'string' },
    http: { type: 'string' },
    'token-file': { type: 'string' },
    target: { type: 'string' },
  },
});

function transport() {
  if (opt.stdio) {
    return new StdioClientTransport({
      command: opt.stdio, args: ['mcp-server', '--read-only'], env: { ...process.env }, stderr: 'inherit',
    });
  }
  const token = readFileSync(opt['token-file'], 'utf8').trim();
  return new StreamableHTTPClientTransport(new URL(opt.http), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
}

async function main() {
  const client = new Client({ name: 'velos-interop-ro', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport());
  const { tools } = await client.listTools();
  const annotations = Object.fromEntries(tools.map((t) => [t.name, t.annotations?.readOnlyHint ?? false]));
  const res = await client.callTool({ name: 'process_stop', arguments: { target: opt.target } });
  const text = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
  await client.close();
  process.stdout.write(JSON.stringify({ tools: tools.map((t) => t.name), annotations, stop: { isError: !!res.isError, text } }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`readonly: ${e?.stack ?? e}\n`);
  process.exit(1);
});
