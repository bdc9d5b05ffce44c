import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { currentObservability } from '../common/tracing/observability-headers';
import { inSpan, messagesAttribute, observabilityAttributes } from '../common/tracing/spans';
import { parseModelName } from '../profiles/profiles.service';
import type { TurnOutcome } from './turns.types';
import type { StartTurn } from './agent-runner';

/**
 * The turn's `invoke_agent` span (GenAI agent conventions); its LLM steps and tool calls are its
 * children. The request's `X-OpenHands-Observability-Span-Name` names it, and its tags and
 * metadata go onto it.
 */
export function traceTurn(turn: StartTurn, run: () => Promise<TurnOutcome>): Promise<TurnOutcome> {
  const observability = currentObservability();
  const { conversation, history } = turn.journal;
  const input = [...history].reverse().find((e) => e.kind === 'user_message');
  const parsed = parseModelName(turn.model.model);
  return inSpan(
    observability?.spanName ?? 'invoke_agent openhands',
    {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'openhands',
      'gen_ai.conversation.id': conversation.id,
      'gen_ai.provider.name': parsed?.provider,
      'gen_ai.request.model': parsed?.modelId ?? turn.model.model,
      'openhands.profile': turn.model.profileName,
      'gen_ai.input.messages':
        input?.kind === 'user_message' ? messagesAttribute('user', input.payload.text) : undefined,
      ...observabilityAttributes(observability),
    },
    run,
    (span: Span, outcome) => {
      span.setAttributes({
        'openhands.turn.end_reason': outcome.reason,
        'openhands.turn.status': outcome.status,
        'gen_ai.usage.input_tokens': outcome.usage.prompt_tokens,
        'gen_ai.usage.output_tokens': outcome.usage.completion_tokens,
        'openhands.cost_usd': outcome.usage.cost_usd,
      });
      const output = messagesAttribute('assistant', outcome.answer);
      if (output !== undefined) span.setAttribute('gen_ai.output.messages', output);
      if (outcome.error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
        span.setAttribute('error.type', outcome.error.code);
      }
    },
  );
}
