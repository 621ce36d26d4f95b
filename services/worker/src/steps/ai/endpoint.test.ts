import { describe, expect, it } from 'vitest';
import type { AiSettings } from '../../settings.js';
import { resolveEndpoint } from './endpoint.js';

const ai: AiSettings = {
  baseUrl: 'https://ai.example/v1',
  model: 'm',
  apiKey: 'operator-key',
  keysBySecret: { 'ws-1/team': 'team-key', '*/shared': 'shared-key' },
  timeoutMs: 1_000,
  maxRetries: 1,
  retryBaseMs: 1,
};

describe('resolveEndpoint', () => {
  it('uses the configured key for the configured base URL only', () => {
    expect(resolveEndpoint({}, 'ws-1', ai)).toEqual({ baseUrl: 'https://ai.example/v1', apiKey: 'operator-key' });
    expect(resolveEndpoint({ baseUrl: 'https://ai.example/v1/' }, 'ws-1', ai).apiKey).toBe('operator-key');
    expect(resolveEndpoint({ baseUrl: 'https://evil.example/v1' }, 'ws-1', ai)).toEqual({ baseUrl: 'https://evil.example/v1', apiKey: undefined });
  });

  it("resolves a workspace's own secret for any URL, a shared one for the configured URL only", () => {
    expect(resolveEndpoint({ apiKeySecret: 'team', baseUrl: 'https://other.example' }, 'ws-1', ai)).toEqual({ baseUrl: 'https://other.example', apiKey: 'team-key' });
    expect(resolveEndpoint({ apiKeySecret: 'shared' }, 'ws-2', ai).apiKey).toBe('shared-key');
    expect(() => resolveEndpoint({ apiKeySecret: 'shared', baseUrl: 'https://evil.example' }, 'ws-2', ai)).toThrow(/only sent to the configured/);
    expect(() => resolveEndpoint({ apiKeySecret: 'team' }, 'ws-2', ai)).toThrow(/no AI key secret/);
  });
});
