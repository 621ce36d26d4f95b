/**
 * The OpenAI-compatible chat-completions provider (`POST <baseUrl>/chat/completions`), spoken
 * with `fetch`. 429 and 5xx answers and failed connections are retryable failures (with the
 * server's Retry-After); other 4xx answers are not. A job may name any endpoint, so what it
 * answers is bounded: the body is read up to {@link MAX_ANSWER_BYTES} (a larger one fails the
 * step without retry, and is not read further), and a model name is cut to
 * {@link MAX_MODEL_LENGTH} characters.
 */
import { AiProviderError, type AiEndpoint, type AiProvider, type ChatCompletion, type ChatRequest } from './provider.js';

interface CompletionBody {
  model?: unknown;
  choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
}

const MAX_ERROR_TEXT = 500;
/** The largest answer read from an endpoint: far beyond any chat completion's. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** The longest model name kept from an answer. */
export const MAX_MODEL_LENGTH = 200;

/** The body of `response` as text, read no further than {@link MAX_ANSWER_BYTES}. */
async function boundedText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new AiProviderError(`the AI endpoint's answer is larger than ${MAX_ANSWER_BYTES} bytes`, false, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A provider for the endpoint. */
export function openAiCompatibleProvider(endpoint: AiEndpoint): AiProvider {
  const url = `${endpoint.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    name: 'openai-compatible',
    async complete(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`;
      const body = {
        model: request.model,
        messages: request.messages,
        ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      };
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
        text = await boundedText(response);
      } catch (err) {
        if (isAbort(err) || signal.aborted || err instanceof AiProviderError) throw err;
        throw new AiProviderError(`the AI endpoint cannot be reached: ${(err as Error).message}`, true, undefined, undefined, { cause: err });
      }
      if (!response.ok) {
        const retryable = response.status === 429 || response.status >= 500;
        // The answer goes into the job's error, which the job's readers see: a proxy that echoes
        // the request's headers back (some do on a 401) must not show them the key.
        const shown = endpoint.apiKey === undefined || endpoint.apiKey === '' ? text : text.split(endpoint.apiKey).join('[redacted]');
        throw new AiProviderError(
          `the AI endpoint answered ${response.status}: ${shown.slice(0, MAX_ERROR_TEXT)}`,
          retryable,
          response.status,
          retryAfterMs(response.headers.get('retry-after')),
        );
      }
      let parsed: CompletionBody;
      try {
        parsed = JSON.parse(text) as CompletionBody;
      } catch (cause) {
        throw new AiProviderError('the AI endpoint answered with invalid JSON', true, response.status, undefined, { cause });
      }
      const choice = parsed.choices?.[0];
      const content = choice?.message?.content;
      if (typeof content !== 'string') throw new AiProviderError('the AI answer has no message content', false, response.status);
      return {
        content,
        model: typeof parsed.model === 'string' && parsed.model !== '' ? parsed.model.slice(0, MAX_MODEL_LENGTH) : request.model,
        finishReason: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
        inputTokens: count(parsed.usage?.prompt_tokens),
        outputTokens: count(parsed.usage?.completion_tokens),
      };
    },
  };
}
