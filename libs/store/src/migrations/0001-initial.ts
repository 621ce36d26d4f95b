/**
 * 0001 — the initial schema.
 *
 * Tables: workspaces, api_tokens, runner_jobs, job_steps, job_events, scheduler_leases.
 * `runner_jobs` doubles as the outbox: a PENDING job is a submit not yet queued, a QUEUED job
 * with `dispatched_at` set is a dispatch not yet claimed, a RUNNING job with
 * `cancel_requested_at` set is a cancel signal not yet honoured; the scheduler's reconciler
 * re-publishes from these rows, so nothing depends on one NATS message arriving.
 *
 * Each index names the query it serves.
 */
import { Migration } from '@mikro-orm/migrations';

const JOB_STATUSES = `'PENDING','QUEUED','RUNNING','WAITING','COMPLETED','FAILED','CANCELLED'`;
const STEP_STATUSES = `'PENDING','RUNNING','WAITING','COMPLETED','FAILED','SKIPPED'`;
const PHASES = `'SETUP','EXECUTION','VALIDATION','CLEANUP'`;

export const SQL = /* sql */ `
CREATE TABLE workspaces (
  id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text        NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  max_running_jobs integer     NULL CHECK (max_running_jobs > 0),
  metadata         jsonb       NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now()
);
-- Serves: look up a workspace by name (CLI, bootstrap).
CREATE UNIQUE INDEX workspaces_name_key ON workspaces (name);

CREATE TABLE api_tokens (
  id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name         text        NOT NULL,
  token_hash   text        NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  prefix       text        NOT NULL,
  scopes       text[]      NOT NULL CHECK (scopes <@ ARRAY['jobs:read','jobs:write','jobs:admin']),
  expires_at   timestamptz NULL,
  revoked_at   timestamptz NULL,
  last_used_at timestamptz NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
-- Serves: authenticate a bearer token by the SHA-256 of its secret.
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
-- Serves: list a workspace's tokens.
CREATE INDEX api_tokens_workspace_idx ON api_tokens (workspace_id);

CREATE TABLE runner_jobs (
  id                  uuid        PRIMARY KEY,
  workspace_id        uuid        NOT NULL REFERENCES workspaces (id),
  agent_task_id       text        NULL,
  type                text        NOT NULL,
  pool                text        NOT NULL DEFAULT 'default',
  status              text        NOT NULL CHECK (status IN (${JOB_STATUSES})),
  priority            integer     NOT NULL CHECK (priority BETWEEN 0 AND 100),
  progress            integer     NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  payload             jsonb       NOT NULL DEFAULT '{}',
  result              jsonb       NULL,
  error               jsonb       NULL,
  attempt             integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts        integer     NOT NULL CHECK (max_attempts >= 1),
  backoff             jsonb       NOT NULL,
  idempotency_key     text        NULL,
  run_at              timestamptz NULL,
  timeout_ms          integer     NOT NULL CHECK (timeout_ms > 0),
  worker_id           text        NULL,
  dispatched_at       timestamptz NULL,
  deadline_at         timestamptz NULL,
  cancel_requested_at timestamptz NULL,
  version             integer     NOT NULL DEFAULT 1,
  metadata            jsonb       NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  queued_at           timestamptz NULL,
  started_at          timestamptz NULL,
  completed_at        timestamptz NULL
) WITH (fillfactor = 90); -- room on each page for HOT updates of progress and timestamps
-- Serves: a repeated idempotency key answers the original job.
CREATE UNIQUE INDEX runner_jobs_idempotency_key ON runner_jobs (workspace_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Serves: the scheduler's claim of the backlog (highest priority, oldest first, per pool).
CREATE INDEX runner_jobs_backlog_idx ON runner_jobs (pool, priority DESC, queued_at, id)
  WHERE status = 'QUEUED' AND dispatched_at IS NULL;
-- Serves: the reconciler's scan for dispatched-but-unclaimed jobs.
CREATE INDEX runner_jobs_dispatched_idx ON runner_jobs (dispatched_at)
  WHERE status = 'QUEUED' AND dispatched_at IS NOT NULL;
-- Serves: the reconciler's scan for accepted-but-never-queued jobs.
CREATE INDEX runner_jobs_pending_idx ON runner_jobs (created_at) WHERE status = 'PENDING';
-- Serves: lost-worker recovery and per-workspace running counts.
CREATE INDEX runner_jobs_running_idx ON runner_jobs (worker_id, workspace_id) WHERE status = 'RUNNING';
-- Serves: the timeout scan (running jobs and parked gates past their deadline).
CREATE INDEX runner_jobs_deadline_idx ON runner_jobs (deadline_at)
  WHERE status IN ('RUNNING', 'WAITING') AND deadline_at IS NOT NULL;
-- Serves: GET /runner-jobs, newest first with a (created_at, id) cursor.
CREATE INDEX runner_jobs_list_idx ON runner_jobs (workspace_id, created_at DESC, id DESC);
-- Serves: GET /runner-jobs?status=…, same order.
CREATE INDEX runner_jobs_list_status_idx ON runner_jobs (workspace_id, status, created_at DESC, id DESC);
-- Serves: GET /runner-jobs?agentTaskId=….
CREATE INDEX runner_jobs_agent_task_idx ON runner_jobs (workspace_id, agent_task_id)
  WHERE agent_task_id IS NOT NULL;

CREATE TABLE job_steps (
  id            uuid        PRIMARY KEY,
  job_id        uuid        NOT NULL REFERENCES runner_jobs (id),
  workspace_id  uuid        NOT NULL,
  ordinal       integer     NOT NULL CHECK (ordinal >= 0),
  name          text        NOT NULL,
  phase         text        NOT NULL CHECK (phase IN (${PHASES})),
  type          text        NOT NULL,
  status        text        NOT NULL DEFAULT 'PENDING' CHECK (status IN (${STEP_STATUSES})),
  spec          jsonb       NOT NULL DEFAULT '{}',
  timeout_ms    integer     NULL CHECK (timeout_ms > 0),
  attempt       integer     NOT NULL DEFAULT 0,
  output        jsonb       NULL,
  output_tail   text        NULL,
  exit_code     integer     NULL,
  error         jsonb       NULL,
  input_tokens  integer     NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens integer     NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  duration_ms   integer     NULL,
  started_at    timestamptz NULL,
  completed_at  timestamptz NULL
);
-- Serves: a job's steps in run order; also keeps ordinals unique.
CREATE UNIQUE INDEX job_steps_job_ordinal_key ON job_steps (job_id, ordinal);
-- Keeps step names unique within a job (approvals and artifacts name steps).
CREATE UNIQUE INDEX job_steps_job_name_key ON job_steps (job_id, name);

CREATE TABLE job_events (
  job_id       uuid        NOT NULL,
  sequence     integer     NOT NULL CHECK (sequence >= 1),
  id           uuid        NOT NULL,
  step_id      uuid        NULL,
  workspace_id uuid        NOT NULL,
  type         text        NOT NULL,
  actor        text        NOT NULL,
  attempt      integer     NOT NULL CHECK (attempt >= 0),
  payload      jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Serves: a job's events in order, resume after a sequence (SSE, GET …/events?after=), and the
  -- writer's next sequence (max per job, read under the job's row lock). Makes a sequence unique.
  PRIMARY KEY (job_id, sequence)
);
-- No foreign keys: events are appended only by the store's writers, which hold the job's row
-- lock while they append (so the job exists), and jobs are never deleted (below). Leaving the
-- per-row key checks out more than doubles the append rate. Event ids are UUIDv7, unique by
-- construction, and need no index.

-- job_events is append-only: UPDATE, DELETE and TRUNCATE fail, whoever runs them.
CREATE FUNCTION gantry_forbid_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'job_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER job_events_append_only
  BEFORE UPDATE OR DELETE ON job_events
  FOR EACH ROW EXECUTE FUNCTION gantry_forbid_event_change();
CREATE TRIGGER job_events_no_truncate
  BEFORE TRUNCATE ON job_events
  FOR EACH STATEMENT EXECUTE FUNCTION gantry_forbid_event_change();

-- A job is never deleted: its events are permanent, and they would lose their job.
CREATE FUNCTION gantry_forbid_job_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'runner_jobs rows are never deleted: their events are permanent'
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER runner_jobs_no_delete
  BEFORE DELETE ON runner_jobs
  FOR EACH ROW EXECUTE FUNCTION gantry_forbid_job_delete();

CREATE TABLE scheduler_leases (
  name       text        PRIMARY KEY,
  holder     text        NOT NULL,
  term       bigint      NOT NULL CHECK (term >= 1),
  expires_at timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL DEFAULT now()
);
`;

export class Migration0001Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
