/** The built-in step types, wired to what they need from the worker. */
import type { StepHandler } from './types.js';
import { aiActionStep, type AiActionDeps } from './ai-action.js';
import { artifactStep, type ArtifactDeps } from './artifact.js';
import { commandStep } from './command.js';
import { gateStep } from './gate.js';
import { noopStep } from './noop.js';
import type { CommandDeps } from './process/run-command.js';

/** Everything the built-in step types need. */
export type BuiltinDeps = CommandDeps & AiActionDeps & ArtifactDeps;

/** COMMAND, AI_ACTION, GATE, ARTIFACT and NOOP. */
export function builtinStepTypes(deps: BuiltinDeps): StepHandler<unknown>[] {
  return [commandStep(deps), aiActionStep(deps), gateStep(deps), artifactStep(deps), noopStep()];
}
