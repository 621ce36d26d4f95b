/**
 * Which endpoint and key an AI_ACTION step uses.
 *
 * - `apiKeySecret` names a secret reference resolved from `AI_API_KEY_BY_SECRET`:
 *   `<workspaceId>/<name>` belongs to one workspace and may be sent to any `baseUrl` the step
 *   names; `*` in place of the workspace id is a reference shared by every workspace, which like `AI_API_KEY` is sent
 *   only to the configured `AI_BASE_URL`.
 * - Without `apiKeySecret`, `AI_API_KEY` is used for `AI_BASE_URL`; a step that names another
 *   `baseUrl` is sent without a key (a local endpoint, say) rather than with the worker's.
 *
 * So no job can make the worker send an operator's key to a host of the job's choosing.
 */
import type { AiActionSpec } from '@gantry/contracts';
import { UnrecoverableError } from '../../engine/job-control.js';
import type { AiSettings } from '../../settings.js';
import type { AiEndpoint } from './provider.js';

function sameBase(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** The endpoint of a step of `workspaceId`; throws an UnrecoverableError for an unknown or misused secret. */
export function resolveEndpoint(spec: Pick<AiActionSpec, 'baseUrl' | 'apiKeySecret'>, workspaceId: string, ai: AiSettings): AiEndpoint {
  const baseUrl = spec.baseUrl ?? ai.baseUrl;
  const configured = sameBase(baseUrl, ai.baseUrl);
  if (spec.apiKeySecret !== undefined) {
    const own = ai.keysBySecret[`${workspaceId}/${spec.apiKeySecret}`];
    if (own !== undefined) return { baseUrl, apiKey: own };
    const shared = ai.keysBySecret[`*/${spec.apiKeySecret}`];
    if (shared === undefined) {
      throw new UnrecoverableError(`no AI key secret named ${JSON.stringify(spec.apiKeySecret)} for this workspace`, 'UNKNOWN_SECRET');
    }
    if (!configured) {
      throw new UnrecoverableError(`the shared secret ${JSON.stringify(spec.apiKeySecret)} is only sent to the configured AI base URL`, 'SECRET_NOT_ALLOWED');
    }
    return { baseUrl, apiKey: shared };
  }
  return { baseUrl, apiKey: configured ? ai.apiKey : undefined };
}
