/** A profile's LLM settings as stored (snake_case, like the wire and the reference server). */
export interface LlmConfig {
  model: string;
  base_url?: string | null;
  api_version?: string | null;
  temperature?: number | null;
  top_p?: number | null;
  max_output_tokens?: number | null;
  max_input_tokens?: number | null;
  timeout?: number | null;
  num_retries?: number | null;
  reasoning_effort?: ReasoningEffort | null;
  extra_headers?: Record<string, string> | null;
  input_cost_per_token?: number | null;
  output_cost_per_token?: number | null;
  /** Which tools the model gets when a request does not say (`X-OpenHands-Tools`). */
  tool_mode?: 'server' | 'client' | 'both' | null;
}

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** A profile resolved for use: settings plus the decrypted key. Lives in memory only. */
export interface ResolvedProfile {
  name: string;
  config: LlmConfig;
  apiKey: string | null;
  createdAt: Date;
  updatedAt: Date;
}
