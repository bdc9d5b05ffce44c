/**
 * The sandbox program: one per conversation, started by the service (inside bubblewrap, or
 * unsandboxed with OH_SANDBOX=none), speaking the protocol of `protocol.ts` on stdin/stdout.
 * Standalone: it imports only Node's built-ins and its siblings in this directory, so the
 * sandbox needs nothing of the service but this directory and the node binary.
 *
 *   node dist/sandbox/main.js     (then send {"jsonrpc":"2.0","id":1,"method":"hello",…})
 */
import { LineSplitter } from './protocol';
import { SandboxServer } from './server';

const env = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
);
const server = new SandboxServer(
  (message) => process.stdout.write(`${JSON.stringify(message)}\n`),
  env,
  () => void exit(0),
);

let exiting = false;
async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  await server.close();
  process.exit(code);
}

const splitter = new LineSplitter();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  try {
    for (const line of splitter.push(chunk)) server.handle(line);
  } catch (error) {
    process.stderr.write(`sandbox: ${(error as Error).message}\n`);
    void exit(65);
  }
});
// The service is gone (it closed the pipe, or died): nothing of the conversation may outlive it.
process.stdin.on('end', () => void exit(0));
process.stdout.on('error', () => void exit(0));
for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(name, () => void exit(0));
