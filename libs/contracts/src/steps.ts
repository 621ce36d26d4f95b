/**
 * Step definitions as a job submitter writes them, and the spec schema of each built-in step
 * type. A custom step type (registered by a team on its workers) takes any JSON object as its
 * spec; its handler validates it when the step runs.
 */
import { z } from 'zod';
import { CUSTOM_STEP_TYPE_PATTERN, STEP_PHASES, StepType } from './enums.js';
import { boundedJsonObject } from './json.js';
import { Limits } from './limits.js';

const name = z.string().min(1).max(Limits.maxNameLength);
const timeoutMs = z.int().min(1).max(Limits.maxTimeoutMs);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
/** A path relative to the job's working directory; it may not climb out of it. */
const relativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
    message: "must be relative to the job directory and may not contain '..'",
  });

/** A process's own variables: at most {@link Limits.maxEnvVars}. */
const environment = z.record(envName, z.string().max(32 * 1024)).check((ctx) => {
  const count = Object.keys(ctx.value).length;
  if (count > Limits.maxEnvVars) {
    ctx.issues.push({ code: 'too_big', origin: 'object', maximum: Limits.maxEnvVars, message: `at most ${Limits.maxEnvVars} variables (${count} given)`, input: ctx.value });
  }
});

/** COMMAND: an argv run without a shell, or a script run by the shell the spec names. */
export const CommandSpec = z
  .strictObject({
    argv: z.array(z.string().max(64 * 1024)).min(1).max(Limits.maxArgvLength).optional(),
    script: z.string().min(1).max(Limits.maxStepSpecBytes).optional(),
    shell: z.string().min(1).max(4096).optional().describe('Interpreter for `script`, e.g. /bin/bash.'),
    cwd: relativePath.optional().describe('Working directory inside the job directory.'),
    env: environment.optional(),
    timeoutMs: timeoutMs.optional(),
    killGraceMs: z.int().min(0).max(60_000).optional(),
  })
  .refine((s) => (s.argv === undefined) !== (s.script === undefined), {
    message: 'give exactly one of argv or script',
  })
  .refine((s) => s.script === undefined || s.shell !== undefined, {
    message: 'a script needs the shell that runs it',
    path: ['shell'],
  })
  .meta({ id: 'CommandSpec', description: 'Spec of a COMMAND step.' });
export type CommandSpec = z.infer<typeof CommandSpec>;

const chatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(Limits.maxStepSpecBytes),
});

/** AI_ACTION: one chat-completions call to an OpenAI-compatible endpoint. */
export const AiActionSpec = z
  .strictObject({
    model: z.string().min(1).max(Limits.maxNameLength).optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    apiKeySecret: z.string().min(1).max(Limits.maxNameLength).optional().describe(
      "Name of a workspace secret holding the API key; the worker's configured key otherwise.",
    ),
    messages: z.array(chatMessage).min(1).max(Limits.maxAiMessages),
    maxTokens: z.int().min(1).max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    timeoutMs: timeoutMs.optional(),
  })
  .meta({ id: 'AiActionSpec', description: 'Spec of an AI_ACTION step.' });
export type AiActionSpec = z.infer<typeof AiActionSpec>;

/** GATE: a command that must exit 0, or a manual approval. */
export const GateSpec = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('command'),
      argv: z.array(z.string().max(64 * 1024)).min(1).max(Limits.maxArgvLength),
      cwd: relativePath.optional(),
      env: environment.optional(),
      timeoutMs: timeoutMs.optional(),
    }),
    z.strictObject({
      kind: z.literal('approval'),
      prompt: z.string().max(Limits.maxReasonLength).optional(),
      timeoutMs: timeoutMs.optional().describe('Fail the gate if nobody decides within this time.'),
    }),
  ])
  .meta({ id: 'GateSpec', description: 'Spec of a GATE step.' });
export type GateSpec = z.infer<typeof GateSpec>;

/**
 * A media type as an HTTP header can carry it: `type/subtype`, then parameters, in printable
 * ASCII (RFC 9110's token characters for the type and subtype).
 */
export const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/;

/** ARTIFACT: a file or directory of the job directory, stored in the artifact bucket. */
export const ArtifactSpec = z
  .strictObject({
    path: relativePath,
    name: z.string().min(1).max(Limits.maxNameLength).regex(/^[A-Za-z0-9._-]+$/).optional(),
    contentType: z
      .string()
      .max(255)
      .regex(MEDIA_TYPE, 'must be a media type such as text/plain or application/json; charset=utf-8 (printable ASCII)')
      .optional()
      .describe('The Content-Type the API serves the artifact with.'),
  })
  .meta({ id: 'ArtifactSpec', description: 'Spec of an ARTIFACT step.' });
export type ArtifactSpec = z.infer<typeof ArtifactSpec>;

/** NOOP: does nothing, after an optional sleep. */
export const NoopSpec = z
  .strictObject({
    sleepMs: z.int().min(0).max(Limits.maxTimeoutMs).optional(),
    fail: z.boolean().optional().describe('Fail instead of completing (for tests and drills).'),
  })
  .meta({ id: 'NoopSpec', description: 'Spec of a NOOP step.' });
export type NoopSpec = z.infer<typeof NoopSpec>;

/** The spec schema of each built-in step type. */
export const BUILTIN_STEP_SPECS = {
  [StepType.COMMAND]: CommandSpec,
  [StepType.AI_ACTION]: AiActionSpec,
  [StepType.GATE]: GateSpec,
  [StepType.ARTIFACT]: ArtifactSpec,
  [StepType.NOOP]: NoopSpec,
} as const satisfies Record<StepType, z.ZodType>;

function isBuiltin(type: string): type is StepType {
  return Object.hasOwn(BUILTIN_STEP_SPECS, type);
}

/** One step of a job, as submitted. */
export const StepDefinition = z
  .strictObject({
    name,
    phase: z.enum(STEP_PHASES),
    type: z
      .string()
      .regex(CUSTOM_STEP_TYPE_PATTERN, 'a built-in step type or an UPPER_SNAKE_CASE custom type'),
    spec: boundedJsonObject(Limits.maxStepSpecBytes, 'step spec').default({}),
    timeoutMs: timeoutMs.optional(),
  })
  .check((ctx) => {
    const { type, spec } = ctx.value;
    if (!isBuiltin(type)) return;
    const parsed = BUILTIN_STEP_SPECS[type].safeParse(spec);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        ctx.issues.push({ code: 'unrecognized_keys', keys: issue.keys, path: ['spec', ...issue.path], input: spec });
        continue;
      }
      ctx.issues.push({
        code: issue.code === 'too_big' ? 'too_big' : 'custom',
        ...(issue.code === 'too_big' ? { origin: issue.origin, maximum: issue.maximum } : {}),
        path: ['spec', ...issue.path],
        message: issue.message,
        input: spec,
      } as Parameters<typeof ctx.issues.push>[0]);
    }
  })
  .meta({ id: 'StepDefinition', description: 'One step of a job, as submitted.' });
export type StepDefinition = z.infer<typeof StepDefinition>;
