/**
 * Loaded into the benchmarked server (`node --import ./bench/db-probe.mjs dist/main.js`): counts
 * the SQL statements the service sends, the rows they return and the time they take (send to
 * result, as the driver sees it), for `pg` and for the embedded PGlite alike (on its worker
 * thread: a statement is counted from the message that sends it to the reply). It changes nothing
 * else. The benchmark asks for the totals over the IPC channel: `'db-stats'` → `{ statements, … }`.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const totals = { statements: 0, rows: 0, ms: 0, byStatement: {} };

function record(sql, started, result) {
  const ms = performance.now() - started;
  const text = typeof sql === 'string' ? sql : (sql?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 70);
  totals.statements += 1;
  totals.ms += ms;
  const rows = Array.isArray(result?.rows) ? result.rows.length : 0;
  totals.rows += rows;
  const entry = (totals.byStatement[key] ??= { count: 0, ms: 0 });
  entry.count += 1;
  entry.ms += ms;
}

function wrap(proto, name) {
  const original = proto[name];
  proto[name] = function probed(sql, ...rest) {
    const started = performance.now();
    const callback = typeof rest.at(-1) === 'function' ? rest.pop() : undefined;
    if (callback) {
      return original.call(this, sql, ...rest, (err, result) => {
        record(sql, started, result);
        callback(err, result);
      });
    }
    const out = original.call(this, sql, ...rest);
    if (out && typeof out.then === 'function') {
      out.then(
        (result) => record(sql, started, Array.isArray(result) ? result.at(-1) : result),
        () => record(sql, started, undefined),
      );
    }
    return out;
  };
}

try {
  wrap(require('pg').Client.prototype, 'query');
} catch {
  // pg not installed: nothing to count there
}

// The embedded database's statements go to its worker thread as `{ id, sql, params? }` messages
// and come back as `{ id, result | error }` (src/database/embedded-database.worker.ts).
const { Worker } = require('node:worker_threads');
const postMessage = Worker.prototype.postMessage;
const inFlight = new WeakMap();
Worker.prototype.postMessage = function probed(message, ...rest) {
  if (typeof message?.sql === 'string') {
    let sent = inFlight.get(this);
    if (!sent) {
      sent = new Map();
      inFlight.set(this, sent);
      this.on('message', (reply) => {
        const request = sent.get(reply?.id);
        if (!request) return;
        sent.delete(reply.id);
        record(request.sql, request.started, reply.result);
      });
    }
    sent.set(message.id, { sql: message.sql, started: performance.now() });
  }
  return postMessage.call(this, message, ...rest);
};

if (process.send) {
  process.on('message', (message) => {
    if (message === 'db-stats') process.send({ type: 'db-stats', ...totals });
  });
  process.channel?.unref();
}
