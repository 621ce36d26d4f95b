import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StepRegistry } from './registry.js';
import { defineStepType } from './types.js';

const make = (type: string) => defineStepType({ type, spec: z.object({ n: z.number() }), run: async () => {} });

describe('StepRegistry', () => {
  it('registers custom types beside built-in ones and refuses bad or duplicate names', () => {
    const r = new StepRegistry([make('NOOP')]);
    r.register(make('MY_TYPE'));
    expect(r.types()).toEqual(['NOOP', 'MY_TYPE']);
    expect(r.get('MY_TYPE')?.type).toBe('MY_TYPE');
    expect(r.get('OTHER')).toBeUndefined();
    expect(() => r.register(make('MY_TYPE'))).toThrow(/already registered/);
    expect(() => r.register(make('lower'))).toThrow(/must match/);
  });

  it('defineStepType parses specs into VALIDATION_FAILED errors naming the field', () => {
    const h = make('MY_TYPE');
    expect(h.parseSpec({ n: 1 })).toEqual({ n: 1 });
    expect(() => h.parseSpec({ n: 'x' })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('n:') }));
  });
});
