/**
 * What each token scope allows. Scopes nest: `jobs:admin` includes `jobs:write`, which includes
 * `jobs:read`.
 *
 * - `jobs:read`: read jobs, steps and events, stream events, the queue and the workers;
 * - `jobs:write`: submit jobs, cancel or retry one job;
 * - `jobs:admin`: decide approval gates and cancel jobs in bulk.
 */
import { TOKEN_SCOPES, type TokenScope } from '@gantry/store';

export { TOKEN_SCOPES, type TokenScope };

const RANK: Record<TokenScope, number> = { 'jobs:read': 1, 'jobs:write': 2, 'jobs:admin': 3 };

/** True when a token holding `granted` may do what `required` guards. */
export function allows(granted: readonly TokenScope[], required: TokenScope): boolean {
  return granted.some((scope) => RANK[scope] >= RANK[required]);
}

/** True when `value` names a scope. */
export function isScope(value: string): value is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(value);
}
