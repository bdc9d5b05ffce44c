import { z } from 'zod';
import type { TerminalResult, WorkspaceRuntime } from '../workspace/workspace-runtime';
import { splitTopLevelCommands } from './command-splitter';
import type { AgentTool, ToolContext, ToolOutcome } from './tool';

const terminalArgs = z.object({
  command: z
    .string()
    .describe(
      'The bash command. With `is_input: true`: text or a key (`C-c`, `C-d`, `ENTER`, `Up`…) for the ' +
        'running command. `""` reads more output of a running command.',
    ),
  is_input: z
    .boolean()
    .default(false)
    .describe('Send `command` to the running command instead of running it.'),
  timeout: z
    .number()
    .positive()
    .optional()
    .describe('Seconds to wait before returning (the command keeps running); for long jobs.'),
  reset: z
    .boolean()
    .default(false)
    .describe('Kill the shell and all it started, then start a fresh one.'),
});

export type TerminalArgs = z.infer<typeof terminalArgs>;

const DESCRIPTION = `Run a bash command in the conversation's persistent shell, started in the workspace. The working directory, variables and activated virtualenvs persist between calls.
* One command per call; chain several with \`&&\` or \`;\`.
* A command with no new output for 30 s returns with exit code -1 and keeps running: send \`""\` to read more, or \`is_input: true\` with text or a key (\`C-c\`, \`C-d\`, arrows, \`ENTER\`) to interact. Give \`timeout\` for long jobs (installs, test suites); run servers in the background with output to a file (\`cmd > server.log 2>&1 &\`).
* Output over 30,000 characters is cut in the middle; the full output is saved to a file named in the result.
* \`reset: true\` only when the shell is stuck: it kills the shell and every process it started.`;

const INTERACT =
  'Send "" to read more output; send text with `is_input: true` to answer it, or a key such as ' +
  '`C-c` (interrupt), `C-d` (end of input), arrows or `ENTER`; or give `timeout` next time to wait longer.';

/** `terminal`: one persistent bash per conversation, through the workspace runtime. */
export class TerminalTool implements AgentTool<TerminalArgs> {
  readonly name = 'terminal';
  readonly description = DESCRIPTION;
  readonly inputSchema = terminalArgs;
  readonly hasSideEffects = true;

  constructor(private readonly runtime: WorkspaceRuntime) {}

  async execute(args: TerminalArgs, ctx: ToolContext): Promise<ToolOutcome> {
    if (args.reset && args.is_input) {
      return error('`reset` cannot be combined with `is_input`: reset starts a new shell.');
    }
    if (!args.is_input) {
      const commands = splitTopLevelCommands(args.command);
      if (commands.length > 1) {
        return error(
          'Cannot execute multiple commands at once. Run them one per call, or chain them into a ' +
            `single command with \`&&\` or \`;\`.\nProvided commands:\n` +
            commands.map((c, i) => `(${i + 1}) ${c}`).join('\n'),
        );
      }
    }
    const result = await this.runtime.exec(ctx.conversationId, ctx.workspaceDir, {
      command: args.command,
      isInput: args.is_input,
      timeoutMs: args.timeout === undefined ? undefined : Math.round(args.timeout * 1000),
      reset: args.reset,
      signal: ctx.signal,
    });
    return render(args, result);
  }

  describe(args: TerminalArgs): string {
    if (args.reset)
      return args.command.trim()
        ? `Resetting the terminal, then running ${code(args.command)}`
        : 'Resetting the terminal';
    if (args.command === '') return 'Reading more output';
    if (args.is_input) return `Sending ${code(args.command)} to the running command`;
    return `Running ${code(args.command)}`;
  }
}

function render(args: TerminalArgs, result: TerminalResult): ToolOutcome {
  const meta = {
    status: result.status,
    exit_code: result.exitCode,
    cwd: result.cwd,
    ...(result.stoppedBy ? { stopped_by: result.stoppedBy } : {}),
    ...(result.fullOutputPath ? { full_output_path: result.fullOutputPath } : {}),
  };
  const lines = result.notes.map((note) => `[${note}]`);
  const continued =
    result.output.trim() !== '' &&
    (args.command === '' || args.is_input || result.refusal === 'busy');
  if (continued) lines.push('[Below is the output of the previous command.]');
  if (result.output.trimEnd() !== '') lines.push(result.output.trimEnd());

  if (result.status === 'refused') {
    lines.push(refusalText(args, result));
    return { output: lines.join('\n'), isError: true, meta };
  }
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  switch (result.status) {
    case 'running':
      lines.push(
        result.stoppedBy === 'timeout'
          ? `[The command is still running after ${seconds(result.waitedMs)} seconds (your timeout). ${INTERACT}]`
          : result.stoppedBy === 'output_limit'
            ? `[The command is still running and has printed a lot of output; this call stopped reading. ${INTERACT}]`
            : `[The command has no new output after ${seconds(result.idleMs ?? result.waitedMs)} seconds and is still running. ${INTERACT}]`,
      );
      break;
    case 'exited':
      lines.push(
        `[The shell exited with code ${result.exitCode}; the next command starts a new shell.]`,
      );
      break;
    case 'cancelled':
      lines.push(
        '[The command was stopped because the turn ended; the shell and all its processes were killed.]',
      );
      break;
    case 'completed':
      break;
  }
  lines.push(`[Current working directory: ${result.cwd}]`);
  lines.push(`[Command finished with exit code ${result.exitCode}]`);
  return { output: lines.join('\n'), isError: result.status === 'cancelled', meta };
}

function refusalText(args: TerminalArgs, result: TerminalResult): string {
  switch (result.refusal) {
    case 'busy':
      return `[Your command "${args.command}" was NOT executed: the previous command is still running. ${INTERACT}]`;
    case 'not_running':
      return args.command === '' || !args.is_input
        ? 'No command is running, so there is no output to read and nothing to interrupt.'
        : 'No command is running, so there is nothing to send input to. To run a command, set `is_input` to false.';
    case 'unsupported_key':
      return (
        `${args.command.trim()} (suspend) is not available: this shell has no job control. Use C-c to ` +
        'interrupt the command, then start it again in the background with `&` if needed.'
      );
    case 'input_blocked':
      return 'The input was not delivered: the running command is not reading its input.';
    case undefined:
      return 'The command was not run.';
  }
}

function code(command: string): string {
  const firstLine = command.trim().split('\n')[0];
  const short = firstLine.length > 80 ? `${firstLine.slice(0, 77)}...` : firstLine;
  return `\`${short}${command.trim().includes('\n') && firstLine.length <= 80 ? ' …' : ''}\``;
}

function error(output: string): ToolOutcome {
  return { output, isError: true };
}
