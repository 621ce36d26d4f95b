/**
 * The interface behind AI_ACTION steps: a provider completes one chat and reports its token
 * usage, or fails with an {@link AiProviderError} that says whether trying again may help.
 * The step (retries, backoff, events, metrics) is the same whatever the provider.
 */

/** One chat message. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** A chat-completion request. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens?: number;
  readonly temperature?: number;
}

/** A completed chat. */
export interface ChatCompletion {
  readonly content: string;
  /** The model that answered (the provider may name it more precisely than the request). */
  readonly model: string;
  readonly finishReason: string | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Where a provider sends requests, and the key it authenticates with (none when undefined). */
export interface AiEndpoint {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
}

/** A chat-completion provider. */
export interface AiProvider {
  /** Recorded in `ai.tokens_used` events, e.g. `openai-compatible`. */
  readonly name: string;
  /** Completes `request`; rejects with an AbortError when `signal` aborts. */
  complete(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
}

/** Builds the provider of an endpoint. */
export type AiProviderFactory = (endpoint: AiEndpoint) => AiProvider;

/** A provider call failed. */
export class AiProviderError extends Error {
  override name = 'AiProviderError';
  constructor(
    message: string,
    /** True for rate limits, server errors and cut connections. */
    readonly retryable: boolean,
    /** The HTTP status, when there was an answer. */
    readonly status?: number,
    /** The server's Retry-After, in milliseconds. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
