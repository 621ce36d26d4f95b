/** Every command of the CLI, in the order `gantry help` lists them. */
import type { Command } from './command.js';
import { tokenCreate } from './token-create.js';
import { tokenList } from './token-list.js';
import { tokenRevoke } from './token-revoke.js';
import { workspaceCreate } from './workspace-create.js';
import { workspaceList } from './workspace-list.js';

export type { Command } from './command.js';

export const COMMANDS: readonly Command[] = [workspaceCreate, workspaceList, tokenCreate, tokenList, tokenRevoke];
