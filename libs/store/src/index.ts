/**
 * @gantry/store — PostgreSQL persistence: the ORM for reads and low-volume writes, explicit
 * set-based SQL for hot paths, migrations, and the group-committing job writer.
 */
export * from './entities/index.js';
export { createOrm, MIGRATIONS_TABLE, type Orm, type OrmOptions } from './orm.js';
export { migrate, type MigrateResult } from './migrate.js';
export { MIGRATIONS } from './migrations/index.js';
export { TENANT_ROLE, TENANT_SETTING } from './migrations/0006-tenant-rls.js';
export { ensureDatabase } from './ensure-database.js';
export { createPool, postgresReadinessCheck, releaseAfter, withTransaction, type Pool, type PoolClient, type PoolOptions } from './db/pool.js';
export { statement } from './db/statement.js';
export { byIds } from './db/ids-param.js';
export { isConnectionError, isLockNotAvailable, isTransientError, isUniqueViolation, translateDbError } from './db/errors.js';
export { latestCancelReasonSql } from './events/cancel-reason.js';
export { skippingWaitingGate, waitingGateSql } from './jobs/waiting-gate.js';
export { schemaSnapshot } from './schema-snapshot.js';
export { derivedUuid, uuidv7 } from './ids.js';
export { signGrant, verifyGrant } from './command-grant.js';
export { allows, hashToken, isScope, looksLikeToken, mintToken, TOKEN_MARKER, TOKEN_PREFIX_LENGTH, type MintedToken } from './tokens.js';
export type { EventInput, JobPatch, JobWrite, LoadedJob, LoadedStep, Stamp, StepPatch, WriteResult } from './write/job-write.js';
export { applyWrites } from './write/apply-writes.js';
export { JobWriter, type FlushReport, type JobWriterOptions } from './write/job-writer.js';
export { isSameJob, storedInstant, storedJobSpecs, type StoredJobSpec } from './jobs/same-spec.js';
export { insertJobs, insertJobsUnlessForeign, ONE_STATEMENT_MAX, type CreatedJob, type InsertJobsResult, type NewJob } from './jobs/insert-jobs.js';
