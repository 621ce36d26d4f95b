/** Every command of the CLI, in the order `gantry help` lists them. */
import type { Command } from './command.js';
import { cancel, approve, reject, retry } from './job-actions.js';
import { queue, workers } from './cluster-views.js';
import { deadLettersList, deadLettersReplay } from './dead-letters.js';
import { get } from './get.js';
import { list } from './list.js';
import { logs } from './logs.js';
import { migrate } from './migrate.js';
import { submit } from './submit.js';
import { tokenCreate } from './token-create.js';
import { tokenList } from './token-list.js';
import { tokenRevoke } from './token-revoke.js';
import { watch } from './watch.js';
import { workspaceCreate } from './workspace-create.js';
import { workspaceList } from './workspace-list.js';

export type { Command } from './command.js';

/** Every command: the job commands (over the API) first, then the operator commands. */
export const COMMANDS: readonly Command[] = [
  submit,
  list,
  get,
  watch,
  logs,
  cancel,
  retry,
  approve,
  reject,
  queue,
  workers,
  workspaceCreate,
  workspaceList,
  tokenCreate,
  tokenList,
  tokenRevoke,
  deadLettersList,
  deadLettersReplay,
  migrate,
];
