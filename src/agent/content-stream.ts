import type { AgentEvent } from './turns.types';
import type { EventChannel } from './event-channel';

/** The assistant text a streaming client sees, with a blank line between steps. */
export class ContentStream {
  text = '';
  private needsSeparator = false;
  stepStarted = false;

  constructor(
    private readonly out: EventChannel<AgentEvent>,
    /** Keep the text back (a required answer format): `release` sends the checked answer. */
    private readonly held = false,
  ) {}

  /** Sends the checked final answer as the whole content (held mode). */
  release(answer: string): void {
    this.text = answer;
    if (answer) this.out.push({ type: 'content-delta', text: answer });
  }

  startStep(): void {
    this.needsSeparator = this.text.length > 0;
    this.stepStarted = false;
  }

  /** A separate paragraph (the `finish` message, a notice). */
  appendBlock(text: string): void {
    this.needsSeparator = true;
    this.append(text);
  }

  append(text: string): void {
    if (!text) return;
    const chunk = this.needsSeparator && this.text.length > 0 ? `\n\n${text}` : text;
    this.needsSeparator = false;
    this.stepStarted = true;
    this.text += chunk;
    if (!this.held) this.out.push({ type: 'content-delta', text: chunk });
  }
}
