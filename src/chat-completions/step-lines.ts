import type { StoredEvent } from '../conversations/events.types';

const PREVIEW_LINES = 3;
const PREVIEW_CHARS = 300;

/**
 * Short human-readable lines for a streamed turn's steps, shown as reasoning by chat UIs:
 * "▸ Running `npm test`" for a call, "  ↳ exit 0 · first lines…" for its result.
 */
export function stepLine(event: StoredEvent, display: string | undefined): string | null {
  switch (event.kind) {
    case 'tool_call': {
      const what = event.payload.summary ?? display ?? `${event.payload.tool}`;
      return `▸ ${what}\n`;
    }
    case 'tool_result': {
      const { output, is_error: isError, meta, tool } = event.payload;
      const exit =
        typeof meta?.exit_code === 'number' ? `exit ${meta.exit_code}` : isError ? 'error' : 'done';
      const preview = previewOf(tool === 'terminal' ? stripTerminalFooter(output) : output);
      return `  ↳ ${exit}${preview ? ` · ${preview}` : ''}\n`;
    }
    case 'condensation':
      return '▸ Condensed the earlier history to fit the context window\n';
    case 'nudge':
    case 'user_message':
    case 'assistant_message':
    case 'llm_response':
    case 'turn_end':
    case 'error':
    case 'interrupted':
      return null;
  }
}

/** The first lines of an output, on one line. */
function previewOf(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim());
  const text = lines.slice(0, PREVIEW_LINES).join(' ⏎ ');
  const more = lines.length > PREVIEW_LINES ? ' …' : '';
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : `${text}${more}`;
}

function stripTerminalFooter(output: string): string {
  return output.replace(
    /\n?\[(Current working directory|Command finished with exit code)[^\]]*\]/g,
    '',
  );
}
