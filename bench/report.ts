import type { BenchResults, Target } from './results';

const fmt = (value: number, digits = 1) =>
  Number.isFinite(value) ? value.toFixed(digits) : String(value);

/** One row per figure: the direct-LLM limit beside the gateway, and the target. */
export function tableRows(r: BenchResults): string[][] {
  const t = (name: string) => r.targets.find((x) => x.name === name);
  const verdict = (target: Target | undefined) =>
    target ? `${target.kind === 'max' ? '≤' : '≥'} ${target.limit} ${target.ok ? '✅' : '❌'}` : '';
  const rows: string[][] = [
    ['Measure', 'Direct LLM (limit)', 'Gateway', 'Overhead', 'Target'],
    [
      'One-step answer, p50 (ms)',
      fmt(r.oneStep.direct.p50, 2),
      fmt(r.oneStep.gateway.p50, 2),
      fmt(r.oneStep.overheadP50, 2),
      verdict(t('one-step overhead p50')),
    ],
    [
      'One-step answer, p99 (ms)',
      fmt(r.oneStep.direct.p99, 2),
      fmt(r.oneStep.gateway.p99, 2),
      fmt(r.oneStep.overheadP99, 2),
      verdict(t('one-step overhead p99')),
    ],
    [
      'Streaming, first content byte, p50 (ms)',
      fmt(r.firstContent.direct.p50, 2),
      fmt(r.firstContent.gateway.p50, 2),
      fmt(r.firstContent.overheadP50, 2),
      verdict(t('first content byte overhead p50')),
    ],
    [
      'Streaming, first content byte, p99 (ms)',
      fmt(r.firstContent.direct.p99, 2),
      fmt(r.firstContent.gateway.p99, 2),
      fmt(r.firstContent.overheadP99, 2),
      '',
    ],
  ];
  for (const level of r.throughput) {
    rows.push([
      `Trivial turns/s, concurrency ${level.concurrency}`,
      fmt(level.directPerS, 0),
      fmt(level.gatewayPerS, 0),
      `${level.errors} errors`,
      level.concurrency === 32 ? verdict(t('turns/s at concurrency 32')) : '',
    ]);
  }
  const c = r.concurrentStreams;
  rows.push(
    [
      `${c.turns} concurrent streamed turns, ${c.llmSeconds} s LLM: errors`,
      '0',
      String(c.errors),
      '',
      verdict(t('errors, 1,000 concurrent streams')),
    ],
    [
      `${c.turns} concurrent streamed turns: wall time (s)`,
      fmt(c.llmSeconds, 1),
      fmt(c.wallS, 2),
      fmt(c.wallS - c.llmSeconds, 2),
      '',
    ],
    [
      `${c.turns} concurrent streamed turns: server peak RSS (MiB)`,
      '',
      fmt(c.peakRssMiB, 0),
      `${fmt(c.rssBeforeMiB, 0)} before`,
      verdict(t('peak RSS, 1,000 concurrent streams')),
    ],
    [
      'Cold start to /ready, embedded database, restart (ms)',
      '',
      fmt(r.coldStart.medianMs, 0),
      `first ever: ${fmt(r.coldStart.firstEverMs, 0)}`,
      verdict(t('cold start to /ready')),
    ],
    [
      `DB time per turn, turns ${r.dbPerTurn.early.turns} → ${r.dbPerTurn.late.turns} (ms)`,
      '',
      `${fmt(r.dbPerTurn.early.dbMs, 2)} → ${fmt(r.dbPerTurn.late.dbMs, 2)}`,
      `×${fmt(r.dbPerTurn.dbMsRatio, 2)}`,
      verdict(t('DB time per turn, late ÷ early')),
    ],
    [
      `DB statements per turn, turns ${r.dbPerTurn.early.turns} → ${r.dbPerTurn.late.turns}`,
      '',
      `${fmt(r.dbPerTurn.early.statements, 2)} → ${fmt(r.dbPerTurn.late.statements, 2)}`,
      `×${fmt(r.dbPerTurn.statementsRatio, 2)}`,
      verdict(t('DB statements per turn, late ÷ early')),
    ],
    [
      `Turn latency, turns ${r.dbPerTurn.early.turns} → ${r.dbPerTurn.late.turns}, p50 (ms)`,
      `${fmt(r.dbPerTurn.directFirstMs, 2)} → ${fmt(r.dbPerTurn.directLastMs, 2)}`,
      `${fmt(r.dbPerTurn.early.gatewayMsP50, 2)} → ${fmt(r.dbPerTurn.late.gatewayMsP50, 2)}`,
      `${fmt(r.dbPerTurn.early.gatewayMsP50 - r.dbPerTurn.directFirstMs, 2)} → ${fmt(r.dbPerTurn.late.gatewayMsP50 - r.dbPerTurn.directLastMs, 2)}`,
      '',
    ],
    [
      'Fixed prompt tokens of a trivial turn (system + tools)',
      '',
      String(r.promptTokens.total),
      `${r.promptTokens.system} system + ${r.promptTokens.tools} tools`,
      verdict(t('fixed prompt tokens')),
    ],
  );
  return rows;
}

/** Plain-text table for the terminal. */
export function consoleTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows
    .map((row, n) => {
      const line = row.map((cell, i) => cell.padEnd(widths[i])).join('  ');
      return n === 0 ? `${line}\n${widths.map((w) => '─'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function markdown(r: BenchResults, chartFile: string): string {
  const rows = tableRows(r);
  const table = [
    `| ${rows[0].join(' | ')} |`,
    `| ${rows[0].map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.slice(1).map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const m = r.machine;
  const failing = r.targets.filter((t) => !t.ok);
  const loads = Object.entries(m.load)
    .map(([phase, load]) => `${phase} ${load.toFixed(2)}`)
    .join(', ');
  const db = r.dbPerTurn;
  const statements = Object.entries(db.statementsOfLastTurn)
    .map(([sql, n]) => `| ${n} | \`${sql.replace(/\|/g, '\\|')}\` |`)
    .join('\n');
  return `# Benchmarks

Generated by \`npm run bench\` (\`bench/run.ts\`) on ${r.startedAt}; raw figures in
[\`bench/results.json\`](../bench/results.json). Reproduce with:

\`\`\`sh
DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench   # on PostgreSQL
npm run bench                                                             # on the embedded database
npm run bench -- --write-docs     # update these committed files instead of bench/results/
\`\`\`

The benchmark starts a scripted LLM on loopback (\`bench/fake-llm.ts\`, OpenAI Chat Completions,
streamed) and the service as a child process from \`dist/\` (built first when stale), on a fresh
database. Every gateway figure stands beside a **direct call to the same LLM** with the very request
body the gateway sent it (system prompt, tool schemas, messages), through the same HTTP client: the
difference is the gateway's own cost.

## Results

${table}

${failing.length === 0 ? 'Every target holds.' : `Targets not met: ${failing.map((t) => `**${t.name}** (${fmt(t.value, 2)} ${t.unit}, target ${t.kind === 'max' ? '≤' : '≥'} ${t.limit})${t.note ? ` — ${t.note}` : ''}`).join('; ')}.`}

![One-step latency and time to first content byte, direct LLM vs gateway](${chartFile})

The optimisations behind these figures, each with its before and after in its message:
\`git log --grep '^perf'\`.

## Machine

| | |
| --- | --- |
| CPU | ${m.cpu} |
| Cores | ${m.cores} |
| RAM | ${fmt(m.ramGiB, 1)} GiB |
| Node | ${m.node} |
| Database | ${m.database} |
| OS | ${m.os} |
| Load (1-min average at each phase) | ${loads} |

The machine is shared; the load average above is the load when each phase began.

## How each figure is measured

- **One-step answer**: a non-streamed \`POST /v1/chat/completions\` that starts a new conversation and
  gets a one-step text answer (no tool call), ${r.oneStep.gateway.n} times, alternating with a direct
  call to the LLM (the same body the gateway sent, read to its end). Overhead = gateway percentile
  minus direct percentile.
- **First content byte**: the same with \`stream: true\`; the time to the first SSE chunk carrying
  non-empty \`delta.content\` (the gateway's role chunk does not count).
- **Turns per second**: closed loop, N clients each sending trivial turns (new conversations) back to
  back for ${r.throughput[0]?.seconds ?? 0} s after a warm-up; the direct column runs the same loop
  against the LLM alone (the ceiling of this harness on this machine: the fake LLM and the clients
  share the two cores with the gateway and PostgreSQL).
- **${r.concurrentStreams.turns} concurrent streamed turns**: all sent at once against a profile whose LLM
  streams its answer over ${r.concurrentStreams.llmSeconds} s; an error is a non-200 answer, an error
  frame or a stream without \`[DONE]\`. Peak RSS is the server's \`VmHWM\` (\`/proc/<pid>/status\`).
- **Cold start**: \`node dist/main.js\` after the build until \`GET /ready\` answers 200, on the embedded
  database; the median of ${r.coldStart.restartsMs.length} restarts on an existing data directory
  (${r.coldStart.restartsMs.map((x) => fmt(x, 0)).join(', ')} ms). The first start ever also creates
  and migrates the cluster (${fmt(r.coldStart.firstEverMs, 0)} ms).
- **DB work per turn**: ${db.turns} turns of one conversation, continued with
  \`X-OpenHands-ServerConversation-ID\`, run right after the warm-up (so that no vacuum or
  checkpoint work left by the load phases lands in one window and not the other). \`bench/db-probe.mjs\`, loaded into the server, wraps the
  database driver (\`pg\` or PGlite) and counts statements, rows returned and the time from sending
  each statement to its result. Turn 1: ${db.first.statements} statements, ${fmt(db.first.dbMs, 2)} ms;
  turn ${db.turns}: ${db.last.statements} statements, ${fmt(db.last.dbMs, 2)} ms. Windows of 25 turns (median DB time, mean
  statements and rows), ${db.early.turns}: ${fmt(db.early.dbMs, 2)} ms, ${fmt(db.early.statements, 2)}
  statements, ${fmt(db.early.rows, 1)} rows; ${db.late.turns}: ${fmt(db.late.dbMs, 2)} ms,
  ${fmt(db.late.statements, 2)} statements, ${fmt(db.late.rows, 1)} rows. The direct column of the latency row replays the
  LLM request of turn 1 and of turn ${db.turns} (the whole history) to the LLM. The statements of
  turn ${db.turns}:

  | Count | Statement (start) |
  | ---: | --- |
${statements
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}

- **Fixed prompt tokens**: the system prompt and the tool schemas (${r.promptTokens.toolNames.join(', ')})
  of the request the gateway sent for a trivial turn, counted with \`gpt-tokenizer\`
  (${r.promptTokens.tokenizer}); the schemas are counted as their JSON.
`;
}

/** Grouped horizontal bars: p50 / p90 / p99 of the direct call and of the gateway, per measure. */
export function latencyChart(r: BenchResults): string {
  const groups = [
    { title: 'One-step answer (non-streamed)', c: r.oneStep },
    { title: 'Streaming: first content byte', c: r.firstContent },
  ];
  const stats = ['p50', 'p90', 'p99'] as const;
  const width = 760;
  const left = 60;
  const right = 230;
  const barH = 14;
  const groupH = stats.length * (2 * barH + 10) + 40;
  const height = 50 + groups.length * groupH + 40;
  const max = Math.max(
    ...groups.flatMap((g) => stats.flatMap((s) => [g.c.direct[s], g.c.gateway[s]])),
  );
  const scale = (v: number) => ((width - left - right) * v) / (max || 1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">Latency in ms: direct LLM vs through the gateway (${r.machine.database.split(' (')[0]})</text>`,
  ];
  groups.forEach((g, gi) => {
    const top = 50 + gi * groupH;
    parts.push(`<text x="10" y="${top + 12}" font-weight="600">${g.title}</text>`);
    stats.forEach((s, si) => {
      const y = top + 24 + si * (2 * barH + 10);
      const d = g.c.direct[s];
      const w = g.c.gateway[s];
      parts.push(
        `<text x="${left - 10}" y="${y + barH + 4}" text-anchor="end">${s}</text>`,
        `<rect x="${left}" y="${y}" width="${scale(d).toFixed(1)}" height="${barH}" fill="#9aa5b1"/>`,
        `<text x="${(left + scale(d) + 6).toFixed(1)}" y="${y + barH - 3}">${fmt(d, 2)} direct</text>`,
        `<rect x="${left}" y="${y + barH}" width="${scale(w).toFixed(1)}" height="${barH}" fill="#2f6fde"/>`,
        `<text x="${(left + scale(w) + 6).toFixed(1)}" y="${y + 2 * barH - 3}">${fmt(w, 2)} gateway (+${fmt(w - d, 2)})</text>`,
      );
    });
  });
  const legendY = height - 20;
  parts.push(
    `<rect x="${left}" y="${legendY - 10}" width="12" height="12" fill="#9aa5b1"/>`,
    `<text x="${left + 18}" y="${legendY}">direct call to the LLM (the limit)</text>`,
    `<rect x="${left + 260}" y="${legendY - 10}" width="12" height="12" fill="#2f6fde"/>`,
    `<text x="${left + 278}" y="${legendY}">through the gateway</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
