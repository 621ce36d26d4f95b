/**
 * The ordered list of migrations. Forward-only: a released migration is never edited; a change
 * is a new numbered file appended here.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Initial } from './0001-initial.js';
import { Migration0002Failures } from './0002-failures.js';
import { Migration0003FairDispatch } from './0003-fair-dispatch.js';
import { Migration0004Assert } from './0004-assert.js';
import { Migration0005LeanInserts } from './0005-lean-inserts.js';
import { Migration0006TenantRls } from './0006-tenant-rls.js';
import { Migration0007PendingCancels } from './0007-pending-cancels.js';
import { Migration0008RunnableAge } from './0008-runnable-age.js';

export const MIGRATIONS: MigrationObject[] = [
  { name: '0001-initial', class: Migration0001Initial },
  { name: '0002-failures', class: Migration0002Failures },
  { name: '0003-fair-dispatch', class: Migration0003FairDispatch },
  { name: '0004-assert', class: Migration0004Assert },
  { name: '0005-lean-inserts', class: Migration0005LeanInserts },
  { name: '0006-tenant-rls', class: Migration0006TenantRls },
  { name: '0007-pending-cancels', class: Migration0007PendingCancels },
  { name: '0008-runnable-age', class: Migration0008RunnableAge },
];
