/**
 * @gantry/contracts — everything that crosses a process boundary. No I/O; depends only on zod.
 */
export * from './enums.js';
export * from './state-machines.js';
export * from './limits.js';
export * from './names.js';
export * from './streams.js';
export * from './errors.js';
export * from './json.js';
export * from './steps.js';
export * from './jobs.js';
export * from './commands.js';
export * from './events.js';
export * from './control.js';
export * from './metrics.js';
export * from './parse.js';
export * from './peek.js';
export * from './retry.js';
