/**
 * AI_ACTION: one chat completion through an {@link AiProvider}. Rate limits (429), server
 * errors and cut connections are retried up to `AI_MAX_RETRIES` times with exponential backoff
 * and jitter (or the server's Retry-After); then the step fails retryable (`AI_UNAVAILABLE`).
 * Other refusals fail it without retry (`AI_REQUEST_REJECTED`). The call is aborted when the
 * step's signal aborts. Input and output tokens go on the step row, in `ai.tokens_used` and in
 * `gantry_ai_tokens_total`.
 */
import { AiActionSpec, Limits, parseWith, StepType } from '@gantry/contracts';
import { delay } from '@gantry/runtime';
import { StepFailedError, UnrecoverableError } from '../engine/job-control.js';
import type { WorkerMetrics } from '../metrics.js';
import type { AiSettings } from '../settings.js';
import { resolveEndpoint } from './ai/endpoint.js';
import { AiProviderError, type AiProviderFactory, type ChatCompletion } from './ai/provider.js';
import { takeUtf8 } from './process/output.js';
import type { StepHandler } from './types.js';

/** What the AI_ACTION step needs from the worker. */
export interface AiActionDeps {
  readonly ai: AiSettings;
  readonly provider: AiProviderFactory;
  readonly metrics: WorkerMetrics;
  /** Random number in [0, 1) for jitter; default Math.random. */
  readonly random?: () => number;
}

/** Milliseconds before retry `retry` (1 for the first): the server's wish, else exponential with up to 50 % jitter. */
export function aiRetryDelayMs(retry: number, baseMs: number, retryAfter: number | undefined, random: () => number): number {
  const cap = 60_000;
  if (retryAfter !== undefined) return Math.min(retryAfter, cap);
  const exp = Math.min(cap, baseMs * 2 ** Math.min(retry - 1, 20));
  return Math.round(exp * (0.5 + random() / 2));
}

/**
 * The longest start of `text` whose JSON string takes at most `maxBytes`: an answer of quotes,
 * backslashes or control characters grows up to sixfold when stored, and a step output past
 * the result limit is replaced whole by its size.
 */
function withinJsonBytes(text: string, maxBytes: number): string {
  let [kept] = takeUtf8(text, maxBytes);
  for (let stored = Buffer.byteLength(JSON.stringify(kept)); stored > maxBytes; stored = Buffer.byteLength(JSON.stringify(kept))) {
    // Shrunk in proportion to the excess, a little more, so that the next check usually fits.
    const bytes = Buffer.byteLength(kept);
    [kept] = takeUtf8(kept, Math.max(0, Math.min(bytes - 1, Math.floor((bytes * maxBytes) / stored) - 8)));
  }
  return kept;
}

/** The AI_ACTION step type. */
export function aiActionStep(deps: AiActionDeps): StepHandler<AiActionSpec> {
  const random = deps.random ?? Math.random;
  return {
    type: StepType.AI_ACTION,
    parseSpec: (raw) => parseWith(AiActionSpec, raw, 'AI_ACTION spec'),
    timeoutMs: (spec) => spec.timeoutMs ?? deps.ai.timeoutMs,
    async run(ctx) {
      const { spec, signal } = ctx;
      const provider = deps.provider(resolveEndpoint(spec, ctx.job.workspaceId, deps.ai));
      const request = {
        model: spec.model ?? deps.ai.model,
        messages: spec.messages,
        ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
        ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
      };
      let answer: ChatCompletion | undefined;
      for (let retry = 0; answer === undefined; retry++) {
        try {
          answer = await provider.complete(request, signal);
        } catch (err) {
          if (signal.aborted || !(err instanceof AiProviderError)) throw err;
          if (!err.retryable) throw new UnrecoverableError(err.message, 'AI_REQUEST_REJECTED', { cause: err });
          if (retry >= deps.ai.maxRetries) throw new StepFailedError(err.message, 'AI_UNAVAILABLE', { cause: err });
          ctx.logger.info({ status: err.status, retry: retry + 1 }, 'AI call failed; retrying');
          if (!(await delay(aiRetryDelayMs(retry + 1, deps.ai.retryBaseMs, err.retryAfterMs, random), signal))) throw signal.reason;
        }
      }
      ctx.record({ inputTokens: answer.inputTokens, outputTokens: answer.outputTokens });
      ctx.emit({ type: 'ai.tokens_used', payload: { provider: provider.name, model: answer.model, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens } });
      deps.metrics.aiTokens(answer.model, answer.inputTokens, answer.outputTokens);
      const content = withinJsonBytes(answer.content, Limits.maxResultBytes / 2);
      return {
        output: {
          content,
          ...(content === answer.content ? {} : { contentTruncated: true }),
          model: answer.model,
          finishReason: answer.finishReason,
          inputTokens: answer.inputTokens,
          outputTokens: answer.outputTokens,
        },
      };
    },
  };
}
