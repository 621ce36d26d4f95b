/** The scheduler leadership lease: one row per partition, held by one replica for a term. */
import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const SchedulerLeaseSchema = defineEntity({
  name: 'SchedulerLease',
  tableName: 'scheduler_leases',
  properties: (p) => ({
    name: p.text().primary(),
    holder: p.text(),
    /** Increases every time leadership changes hands; a deposed leader's term is refused. */
    term: p.bigint('number'),
    expiresAt: p.datetime(),
    renewedAt: p.datetime(),
  }),
});
export type SchedulerLease = InferEntity<typeof SchedulerLeaseSchema>;
