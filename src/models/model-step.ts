import {
  type LanguageModel,
  type LanguageModelUsage,
  type ModelMessage,
  parsePartialJson,
  type ProviderMetadata,
  type ToolSet,
} from 'ai';
import {
  asLanguageModelUsage,
  convertToLanguageModelPrompt,
  prepareCallSettings,
  prepareToolsAndToolChoice,
} from 'ai/internal';

/** The provider-level model every binding of ours creates (`specificationVersion: 'v3'`). */
type ProviderModel = Extract<LanguageModel, { specificationVersion: 'v3' }>;
type CallOptions = Parameters<ProviderModel['doStream']>[0];
type ProviderPart =
  Awaited<ReturnType<ProviderModel['doStream']>>['stream'] extends ReadableStream<infer P>
    ? P
    : never;
type PreparedTools = Pick<CallOptions, 'tools' | 'toolChoice'>;

/** What one model step yields, in the shape `streamText`'s full stream had for these parts. */
export type StepPart =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-start'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'reasoning-delta'; id: string; text: string; providerMetadata?: ProviderMetadata }
  | { type: 'reasoning-end'; id: string; providerMetadata?: ProviderMetadata }
  | {
      type: 'tool-call';
      toolCallId: string;
      toolName: string;
      /** Parsed JSON; the raw text when it does not parse (the registry reports it to the LLM). */
      input: unknown;
      providerExecuted?: boolean;
      providerMetadata?: ProviderMetadata;
    }
  | { type: 'finish'; usage: LanguageModelUsage; finishReason: string; modelId: string };

/** An LLM step's sampling settings: the profile's, overridden by the request's. */
export interface StepSettings {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  seed?: number;
  stopSequences?: string[];
  frequencyPenalty?: number;
  presencePenalty?: number;
  providerOptions?: CallOptions['providerOptions'];
}

export interface StepRequest {
  model: LanguageModel;
  system: string | undefined;
  messages: ModelMessage[];
  tools: ToolSet | undefined;
  /** Default: the provider's (`auto`). */
  toolChoice?: CallOptions['toolChoice'];
  responseFormat?: CallOptions['responseFormat'];
  settings: StepSettings;
  abortSignal: AbortSignal;
  /** Called when the response starts (headers) and at every part the provider sends after. */
  onActivity?: () => void;
  /** Fetches the URLs (images) the provider does not take itself; `null` for one leaves it a URL. */
  download: Parameters<typeof convertToLanguageModelPrompt>[0]['download'];
}

/** Tool declarations converted once per tool set (the registry hands out one object). */
const preparedTools = new WeakMap<ToolSet, Promise<PreparedTools>>();

/**
 * One model step, straight from the provider's `doStream`: the prompt and tools converted by the
 * AI SDK's own functions (`ai/internal`), the stream parts passed on as they come. This is what
 * `streamText` does for a single step without its multi-step, tool-execution and telemetry
 * machinery, which cost more CPU than the rest of a turn (a dozen web streams per call).
 * Differences: messages are not re-validated against the ModelMessage schema (the agent builds
 * them), and tool calls are not repaired (ours never were).
 */
export async function* streamModelStep(request: StepRequest): AsyncGenerator<StepPart, void> {
  const model = providerModel(request.model);
  const prompt = await convertToLanguageModelPrompt({
    prompt: { system: request.system, messages: request.messages },
    supportedUrls: await model.supportedUrls,
    download: request.download,
    abortSignal: request.abortSignal,
  });
  const { providerOptions, ...settings } = request.settings;
  const { tools, toolChoice: defaultChoice } = request.tools ? await prepare(request.tools) : {};
  const toolChoice = tools ? (request.toolChoice ?? defaultChoice) : undefined;
  const { stream } = await model.doStream({
    ...prepareCallSettings(settings),
    tools,
    toolChoice,
    responseFormat: request.responseFormat,
    prompt,
    providerOptions,
    abortSignal: request.abortSignal,
    includeRawChunks: false,
  });
  request.onActivity?.();

  let modelId = model.modelId;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      request.onActivity?.();
      const part = await toStepPart(value, request.tools);
      if (part === 'error') throw (value as Extract<ProviderPart, { type: 'error' }>).error;
      if (part === 'metadata') {
        modelId =
          (value as Extract<ProviderPart, { type: 'response-metadata' }>).modelId ?? modelId;
      } else if (part?.type === 'finish') {
        yield { ...part, modelId };
      } else if (part) {
        yield part;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

async function toStepPart(
  part: ProviderPart,
  tools: ToolSet | undefined,
): Promise<StepPart | 'error' | 'metadata' | null> {
  switch (part.type) {
    case 'text-delta':
      return { type: 'text-delta', text: part.delta };
    case 'reasoning-start':
    case 'reasoning-end':
      return { type: part.type, id: part.id, providerMetadata: part.providerMetadata };
    case 'reasoning-delta':
      return {
        type: 'reasoning-delta',
        id: part.id,
        text: part.delta,
        providerMetadata: part.providerMetadata,
      };
    case 'tool-call':
      return {
        type: 'tool-call',
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        input: await toolInput(part.input, tools?.[part.toolName] !== undefined),
        providerExecuted: part.providerExecuted,
        providerMetadata: part.providerMetadata,
      };
    case 'finish':
      return {
        type: 'finish',
        usage: asLanguageModelUsage(part.usage),
        finishReason: part.finishReason.unified,
        modelId: '',
      };
    case 'response-metadata':
      return 'metadata';
    case 'error':
      return 'error';
    case 'stream-start':
    case 'text-start':
    case 'text-end':
    case 'tool-input-start':
    case 'tool-input-delta':
    case 'tool-input-end':
    case 'tool-approval-request':
    case 'tool-result':
    case 'source':
    case 'file':
    case 'raw':
      return null;
  }
}

/** As `streamText` parsed it: `{}` for a known tool's empty input, the raw text when invalid. */
async function toolInput(raw: string, knownTool: boolean): Promise<unknown> {
  if (knownTool && raw.trim() === '') return {};
  const parsed = await parsePartialJson(raw);
  return parsed.state === 'successful-parse' ? parsed.value : raw;
}

function prepare(tools: ToolSet): Promise<PreparedTools> {
  let prepared = preparedTools.get(tools);
  if (!prepared) {
    prepared = prepareToolsAndToolChoice({ tools, toolChoice: undefined, activeTools: undefined });
    preparedTools.set(tools, prepared);
  }
  return prepared;
}

function providerModel(model: LanguageModel): ProviderModel {
  if (typeof model === 'object' && model.specificationVersion === 'v3') return model;
  throw new Error(
    `Unsupported language model ${typeof model === 'string' ? model : model.modelId}: expected a provider model of specification v3.`,
  );
}
