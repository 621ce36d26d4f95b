/**
 * The step types a worker knows: built-in ones and those a team registers. The engine looks a
 * step's type up here and knows nothing else about it, so adding a type never touches the
 * engine.
 */
import { CUSTOM_STEP_TYPE_PATTERN } from '@gantry/contracts';
import type { StepHandler } from './types.js';

/** A set of step handlers by type. */
export class StepRegistry {
  readonly #handlers = new Map<string, StepHandler<unknown>>();

  constructor(handlers: readonly StepHandler<unknown>[] = []) {
    for (const h of handlers) this.register(h);
  }

  /** Adds `handler`; throws for a malformed type name or a type that is already registered. */
  register<Spec>(handler: StepHandler<Spec>): this {
    if (!CUSTOM_STEP_TYPE_PATTERN.test(handler.type)) {
      throw new TypeError(`step type ${JSON.stringify(handler.type)} must match ${CUSTOM_STEP_TYPE_PATTERN.source}`);
    }
    if (this.#handlers.has(handler.type)) throw new TypeError(`step type ${handler.type} is already registered`);
    this.#handlers.set(handler.type, handler as StepHandler<unknown>);
    return this;
  }

  /** The handler of `type`, if registered. */
  get(type: string): StepHandler<unknown> | undefined {
    return this.#handlers.get(type);
  }

  /** The registered types, in registration order. */
  types(): string[] {
    return [...this.#handlers.keys()];
  }
}
