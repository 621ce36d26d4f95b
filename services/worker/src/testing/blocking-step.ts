/**
 * Test support: a custom step type (`BLOCK`) that runs until the test releases it, so tests can
 * act while a step is running (fence, cancel, drain) without sleeping. `spec.key` names it.
 */
import { z } from 'zod';
import { defineStepType } from '../steps/types.js';
import type { StepHandler } from '../steps/types.js';

interface Gate {
  started: Promise<void>;
  markStarted: () => void;
  released: Promise<unknown>;
  release: (value?: unknown) => void;
}

/** The BLOCK step type and its controls. */
export interface BlockingStep {
  readonly handler: StepHandler<unknown>;
  /** Resolves when the step named by `key` started running. */
  started(key: string): Promise<void>;
  /** Lets the step named by `key` finish: it throws `value` if it is an Error, else completes. */
  release(key: string, value?: unknown): void;
}

/** Builds a fresh BLOCK step type. */
export function blockingStep(): BlockingStep {
  const gates = new Map<string, Gate>();
  const gate = (key: string): Gate => {
    let g = gates.get(key);
    if (!g) {
      let markStarted!: () => void;
      let release!: (value?: unknown) => void;
      const started = new Promise<void>((r) => (markStarted = r));
      const released = new Promise<unknown>((r) => (release = r));
      g = { started, markStarted, released, release };
      gates.set(key, g);
    }
    return g;
  };
  const handler = defineStepType({
    type: 'BLOCK',
    spec: z.object({ key: z.string() }),
    async run({ spec, signal }) {
      const g = gate(spec.key);
      g.markStarted();
      const value = await new Promise<unknown>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        void g.released.then(resolve);
      });
      if (value instanceof Error) throw value;
      return value === undefined ? undefined : { output: value as never };
    },
  });
  return {
    handler: handler as StepHandler<unknown>,
    started: (key) => gate(key).started,
    release: (key, value) => gate(key).release(value),
  };
}
