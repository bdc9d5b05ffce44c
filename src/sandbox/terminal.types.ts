/** One `terminal` call against a conversation's persistent shell. */
export interface TerminalRequest {
  /** A command to run; with `isInput`, text or a key for the running command; `''` reads more output. */
  command: string;
  isInput: boolean;
  /** Return after this long even if output keeps coming; unset: return after the no-output timeout. */
  timeoutMs?: number;
  /** Kill the shell and everything it started, then start a new one (in the previous cwd). */
  reset: boolean;
  /** Aborting kills the shell's whole process group at once; the call then returns `cancelled`. */
  signal: AbortSignal;
}

/** Why a call returned while its command is still running. */
export type StillRunningReason = 'no_output' | 'timeout' | 'output_limit';

/** Why nothing was sent to the shell. */
export type TerminalRefusal =
  /** A new command while the previous one still runs. */
  | 'busy'
  /** `''` or input while no command runs. */
  | 'not_running'
  /** A key the pipe-based shell cannot deliver (`C-z`: no job control). */
  | 'unsupported_key'
  /** The running command does not read its input and the buffer is full. */
  | 'input_blocked';

export interface TerminalResult {
  /**
   * `completed`: the command finished with `exitCode`. `running`: still running (`stoppedBy` says
   * why the call returned). `refused`: nothing was run (`refusal`). `exited`: the shell itself exited
   * (`exitCode` is its status). `cancelled`: the signal aborted and everything was killed.
   */
  status: 'completed' | 'running' | 'refused' | 'exited' | 'cancelled';
  stoppedBy?: StillRunningReason;
  refusal?: TerminalRefusal;
  /** ANSI and `\r` removed; over the output limit, head and tail with a notice in between. */
  output: string;
  /** The command's exit code; -1 while it is still running. */
  exitCode: number;
  /** The shell's working directory after the command (the last known one while it runs). */
  cwd: string;
  /** The complete output of this call when it was too long to return whole (inside the workspace). */
  fullOutputPath?: string;
  /** How long the call waited before returning. */
  waitedMs: number;
  /** With `stoppedBy: 'no_output'`: how long the command printed nothing. */
  idleMs?: number;
  /** Things the caller should know, e.g. that a new shell was started. */
  notes: string[];
}
