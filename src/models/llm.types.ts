import type { LanguageModel, ModelMessage, ProviderMetadata, ToolSet } from 'ai';
import type { TokenUsage } from '../conversations/usage.types';
import type { LlmConfig } from '../profiles/llm-config.types';

/** A gateway model resolved to something callable. Holds the decrypted key: never log it. */
export interface ResolvedModel {
  /** `openhands_<profile>` */
  gatewayModel: string;
  profileName: string;
  /** The profile's LiteLLM model name, e.g. `anthropic/claude-sonnet-4-5-20250929`. */
  model: string;
  config: LlmConfig;
  languageModel: LanguageModel;
  /** Longest silence between two parts of a response (idle timeout; profile `timeout` or OH_LLM_IDLE_TIMEOUT_S). */
  timeoutMs: number;
  /** Longest wait for the response to start (profile `timeout` or OH_LLM_FIRST_BYTE_TIMEOUT_S); default `timeoutMs`. */
  firstByteTimeoutMs?: number;
  /** How many times an attempt that timed out is retried (OH_LLM_TIMEOUT_RETRIES); default 1. */
  timeoutRetries?: number;
  /** Retries after the first attempt (profile `num_retries`, default 3). */
  maxRetries: number;
  /** Context window in tokens when known (profile `max_input_tokens`, else the price table, else null). */
  contextWindow: number | null;
  /** Values to scrub from any error text or log line (the api key). */
  secrets: string[];
}

/** One tool call as the LLM emitted it. `input` is the parsed JSON when it parsed, else the raw text. */
export interface LlmToolCall {
  id: string;
  name: string;
  input: unknown;
  /**
   * Provider data to send back with this call in later requests (the `providerOptions` of its
   * `tool-call` part), e.g. Gemini's thought signature. Absent when the provider sent none.
   */
  providerOptions?: ProviderMetadata;
}

/** One reasoning block, with what must be replayed for it (Anthropic's signature). */
export interface LlmReasoningPart {
  text: string;
  /** The `providerOptions` of the `reasoning` part when replaying the step. */
  providerOptions?: ProviderMetadata;
}

export interface LlmStepResult {
  text: string;
  reasoning: string;
  toolCalls: LlmToolCall[];
  finishReason: string;
  usage: TokenUsage;
  /** USD; 0 when unpriced. */
  costUsd: number;
  /** false when neither the profile nor the price table knows the model. */
  priced: boolean;
  latencyMs: number;
  /** The model id the provider reported, else the profile's. */
  responseModel: string;
  /**
   * The reasoning blocks one by one with their provider data. Replay them as `reasoning` parts of
   * the assistant message: Anthropic rejects a tool-use turn with thinking enabled without them.
   */
  reasoningParts?: LlmReasoningPart[];
  /** Attempts made, retries included (1 = first try). */
  attempts?: number;
}

export interface LlmRequest {
  model: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  /** Tools declared without `execute`: the agent runs them itself. */
  tools?: ToolSet;
  /** Default `auto`. */
  toolChoice?: LlmToolChoice;
  /** Ask the provider for JSON (and, with a schema, JSON fitting it). */
  responseFormat?: LlmResponseFormat;
  signal: AbortSignal;
  /** Epoch ms by which the call, retries included, must be over. */
  deadline?: number;
  /** Overrides of the profile's settings for this request (from the chat completion request). */
  overrides?: {
    temperature?: number;
    topP?: number;
    maxOutputTokens?: number;
    seed?: number;
    stop?: string[];
    frequencyPenalty?: number;
    presencePenalty?: number;
    /** The request's own `reasoning_effort`, over the profile's. */
    reasoningEffort?: LlmConfig['reasoning_effort'];
  };
}

export type LlmToolChoice =
  { type: 'auto' } | { type: 'none' } | { type: 'required' } | { type: 'tool'; toolName: string };

export interface LlmResponseFormat {
  type: 'json';
  schema?: Record<string, unknown>;
  name?: string;
  description?: string;
}

export type LlmStreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  /** A failed attempt that will be retried after `delayMs`. */
  | { type: 'retry'; attempt: number; delayMs: number; reason: string }
  | { type: 'finish'; result: LlmStepResult };

export type { ModelMessage };
