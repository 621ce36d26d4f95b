import { describe, expect, it } from 'vitest';
import { parseArgs, parseDuration, UsageError } from './args.js';

describe('parseArgs', () => {
  const flags = { workspace: 'value', scopes: 'value', json: 'switch' } as const;

  it('reads positionals, --flag value, --flag=value and switches', () => {
    const args = parseArgs(['acme', '--workspace', 'ws', '--scopes=jobs:read,jobs:write', '--json', '--', '--not-a-flag'], flags);
    expect(args.positionals).toEqual(['acme', '--not-a-flag']);
    expect([...args.values]).toEqual([['workspace', 'ws'], ['scopes', 'jobs:read,jobs:write']]);
    expect([...args.switches]).toEqual(['json']);
  });

  it('refuses unknown flags, missing values and values on switches', () => {
    expect(() => parseArgs(['--colour', 'red'], flags)).toThrow(UsageError);
    expect(() => parseArgs(['--workspace'], flags)).toThrow('--workspace needs a value');
    expect(() => parseArgs(['--workspace', '--json'], flags)).toThrow('--workspace needs a value');
    expect(() => parseArgs(['--json=yes'], flags)).toThrow('--json takes no value');
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d and w', () => {
    expect(['90s', '15m', '12h', '30d', '2w'].map(parseDuration)).toEqual([90_000, 900_000, 43_200_000, 2_592_000_000, 1_209_600_000]);
  });

  it('refuses anything else', () => {
    for (const bad of ['30', 'd', '1y', '-1d', '0h', '1.5h']) expect(() => parseDuration(bad)).toThrow(UsageError);
  });
});
