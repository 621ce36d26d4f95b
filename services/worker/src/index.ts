/**
 * @gantry/worker — the step engine. Teams import it to add their own step types:
 * `defineStepType` (or a hand-written {@link StepHandler}), the job-control errors, and
 * `runWorkerService({ stepTypes })` for their worker's entry point. `createWorker` builds a
 * worker in-process (tests, embedding).
 */
export { runWorkerService, type WorkerServiceOptions } from './service.js';
export { createWorker, type Worker, type WorkerDeps } from './worker.js';
export { WORKER_ENV } from './config.js';
export { loadWorkerSettings, workerSettings, type WorkerSettings, type AiSettings } from './settings.js';
export { WorkerSignals, type WorkerSignalMap } from './signals.js';
export { defineStepType, type Json, type JobInfo, type ParkRequest, type StepContext, type StepEvent, type StepHandler, type StepInfo, type StepRecord, type StepResult, type StepTypeDefinition } from './steps/types.js';
export { StepRegistry } from './steps/registry.js';
export { CancelJobError, RetryLaterError, StepFailedError, UnrecoverableError } from './engine/job-control.js';
export { Interrupt, type InterruptKind } from './engine/abort.js';
export type { WorkDir } from './workdir.js';
export { AiProviderError, type AiEndpoint, type AiProvider, type AiProviderFactory, type ChatCompletion, type ChatRequest } from './steps/ai/provider.js';
export { openAiCompatibleProvider } from './steps/ai/openai-compatible.js';
export type { AttemptOutcome } from './engine/types.js';
