import { Inject, Injectable } from '@nestjs/common';
import { jsonSchema, tool, type JSONSchema7, type ToolSet } from 'ai';
import { z } from 'zod';
import { WORKSPACE_RUNTIME, type WorkspaceRuntime } from '../workspace/workspace-runtime';
import { FileEditorTool } from './file-editor.tool';
import { FinishTool } from './finish.tool';
import { TaskTrackerTool } from './task-tracker.tool';
import { TerminalTool } from './terminal.tool';
import { ThinkTool } from './think.tool';
import type { AgentTool, ToolContext, ToolOutcome } from './tool';
import { SpanStatusCode } from '@opentelemetry/api';
import { capturesContent, inSpan } from '../../common/tracing/spans';

export const SECURITY_RISKS = ['LOW', 'MEDIUM', 'HIGH', 'UNKNOWN'] as const;
export type SecurityRisk = (typeof SECURITY_RISKS)[number];

/** A call whose tool exists and whose arguments are valid: ready for `execute`. */
export interface PreparedCall {
  tool: AgentTool;
  /** Validated, defaults applied, without `summary` / `security_risk`. */
  args: unknown;
  /** The model's own ≈10-word description of the call, when it gave one. */
  summary?: string;
  securityRisk?: SecurityRisk;
}

export type PrepareResult = PreparedCall | { error: string };

/** Names models use for our tools (other harnesses, older OpenHands versions). */
const ALIASES: Record<string, string> = {
  bash: 'terminal',
  execute_bash: 'terminal',
  command: 'terminal',
  str_replace_editor: 'file_editor',
};

const SUMMARY: JSONSchema7 = {
  type: 'string',
  description: 'About ten words: what this call does.',
};
const SECURITY_RISK: JSONSchema7 = {
  type: 'string',
  enum: [...SECURITY_RISKS],
  description:
    'Risk of this action: LOW (read-only, reversible), MEDIUM, HIGH (destructive, external effects).',
};

/** JSON Schema as zod writes it, the parts we read. */
interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  [keyword: string]: unknown;
}

/** The agent's tools: their schemas for the LLM, and the checks and execution of their calls. */
@Injectable()
export class ToolRegistry {
  private readonly tools: ReadonlyMap<string, AgentTool>;
  private readonly schemas = new Map<string, SchemaNode>();
  private toolSet: ToolSet | undefined;

  constructor(@Inject(WORKSPACE_RUNTIME) private readonly runtime: WorkspaceRuntime) {
    const tools: AgentTool[] = [
      new TerminalTool(runtime),
      new FileEditorTool(runtime),
      new TaskTrackerTool(),
      new ThinkTool(),
      new FinishTool(),
    ];
    this.tools = new Map(tools.map((t) => [t.name, t]));
    for (const t of tools) {
      this.schemas.set(t.name, tidy(z.toJSONSchema(t.inputSchema, { io: 'input' }) as SchemaNode));
    }
  }

  /** How the tools are confined: `bwrap` or `none` (for `/server_info`). */
  get sandbox(): WorkspaceRuntime['mode'] {
    return this.runtime.mode;
  }

  /** Which sandbox program runs the tools: `native` (C) or `node` (for `/server_info`). */
  get sandboxProgram(): WorkspaceRuntime['program'] {
    return this.runtime.program;
  }

  /** Tool names, in the order the LLM sees them (for `/server_info`). */
  names(): string[] {
    return [...this.tools.keys()];
  }

  /**
   * The tools for the Vercel AI SDK, without `execute` (the agent runs them) and without
   * validation (raw input reaches `prepare`, which is lenient). Each schema starts with an optional
   * `summary`; tools with side effects also take an optional `security_risk`.
   */
  llmTools(): ToolSet {
    this.toolSet ??= Object.fromEntries(
      [...this.tools.values()].map((t) => {
        const base = this.schemas.get(t.name) as SchemaNode;
        const schema: JSONSchema7 = {
          type: 'object',
          properties: {
            summary: SUMMARY,
            ...(base.properties as Record<string, JSONSchema7>),
            ...(t.hasSideEffects ? { security_risk: SECURITY_RISK } : {}),
          },
          required: base.required ?? [],
        };
        return [
          t.name,
          tool({ description: t.description, inputSchema: jsonSchema<unknown>(schema) }),
        ];
      }),
    );
    return this.toolSet;
  }

  /**
   * Checks a call from the LLM: normalises sloppy tool names, decodes JSON-encoded strings where
   * objects or arrays are expected, takes out `summary` / `security_risk`, validates the rest.
   */
  prepare(name: string, input: unknown): PrepareResult {
    const key = name.trim().toLowerCase();
    const found = this.tools.get(ALIASES[key] ?? key);
    if (!found) return { error: `Tool '${name}' not found. Available: ${this.names().join(', ')}` };
    const schema = this.schemas.get(found.name) as SchemaNode;

    let raw = typeof input === 'string' ? parseJson(input.trim() === '' ? '{}' : input) : input;
    raw ??= {};
    if (!isRecord(raw)) {
      return {
        error: `Error validating tool '${found.name}': the arguments must be a JSON object.`,
      };
    }
    const { summary, security_risk: risk, ...rest } = raw;
    const parsed = found.inputSchema.safeParse(coerce(rest, schema));
    if (!parsed.success) {
      return { error: `Error validating tool '${found.name}': ${formatIssues(parsed.error)}` };
    }
    const securityRisk = typeof risk === 'string' ? risk.trim().toUpperCase() : undefined;
    return {
      tool: found,
      args: parsed.data,
      summary: typeof summary === 'string' && summary.trim() !== '' ? summary.trim() : undefined,
      securityRisk: SECURITY_RISKS.find((r) => r === securityRisk),
    };
  }

  /** Runs a prepared call; a thrown error becomes an error outcome the LLM can read. */
  /** Runs the call in an `execute_tool` span (GenAI conventions); a throw is an error result. */
  execute(prepared: PreparedCall, ctx: ToolContext, callId?: string): Promise<ToolOutcome> {
    return inSpan(
      `execute_tool ${prepared.tool.name}`,
      {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': prepared.tool.name,
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': callId,
        'gen_ai.tool.call.arguments': capturesContent() ? JSON.stringify(prepared.args) : undefined,
      },
      () => this.run(prepared, ctx),
      (span, outcome) => {
        if (outcome.isError) span.setStatus({ code: SpanStatusCode.ERROR });
        if (capturesContent()) span.setAttribute('gen_ai.tool.call.result', outcome.output);
      },
    );
  }

  private async run(prepared: PreparedCall, ctx: ToolContext): Promise<ToolOutcome> {
    try {
      return await prepared.tool.execute(prepared.args, ctx);
    } catch (error) {
      // Not `instanceof Error`: errors from other realms (vm contexts, workers) fail that check.
      const message =
        typeof error === 'object' && error !== null && 'message' in error
          ? String(error.message)
          : String(error);
      return { output: `Error running tool '${prepared.tool.name}': ${message}`, isError: true };
    }
  }

  /** One line for the streamed step text: the model's summary, else the tool's own description. */
  describe(prepared: PreparedCall): string {
    if (prepared.summary) {
      return prepared.summary.length > 120
        ? `${prepared.summary.slice(0, 117)}...`
        : prepared.summary;
    }
    return prepared.tool.describe(prepared.args);
  }
}

/** Makes sloppy input fit the schema where the intent is clear; zod judges the result. */
function coerce(value: unknown, schema: SchemaNode | undefined): unknown {
  if (!schema) return value;
  let v = value;
  if (typeof v === 'string') {
    const text = v.trim();
    if ((schema.type === 'object' || schema.type === 'array') && /^[[{]/.test(text))
      v = parseJson(text);
    else if (
      (schema.type === 'integer' || schema.type === 'number') &&
      /^-?\d+(\.\d+)?$/.test(text)
    ) {
      return Number(text);
    } else if (schema.type === 'boolean' && /^(true|false)$/i.test(text)) {
      return text.toLowerCase() === 'true';
    } else if (
      schema.enum &&
      !schema.enum.includes(v) &&
      schema.enum.includes(text.toLowerCase())
    ) {
      return text.toLowerCase();
    }
  }
  if (schema.type === 'array' && Array.isArray(v))
    return v.map((item) => coerce(item, schema.items));
  if (schema.type === 'object' && isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(v)) {
      if (item === null && !schema.required?.includes(key)) continue; // null for "not given"
      out[key] = coerce(item, schema.properties?.[key]);
    }
    return out;
  }
  return v;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      const message = issue.message.replace(
        /^Invalid input: expected (\w+), received undefined$/,
        'required ($1)',
      );
      return where + message;
    })
    .join('; ');
}

/** Drops what costs tokens and says nothing: `$schema` and the ±2^53 bounds of integers. */
function tidy(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if (
      (key === 'minimum' || key === 'maximum') &&
      Math.abs(value as number) === Number.MAX_SAFE_INTEGER
    ) {
      continue;
    }
    if (key === 'properties' && isRecord(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, tidy(child as SchemaNode)]),
      );
    } else if (key === 'items' && isRecord(value)) out.items = tidy(value);
    else out[key] = value;
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
