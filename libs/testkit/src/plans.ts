/** Query plans as `EXPLAIN (FORMAT JSON)` answers them, for tests that assert a statement's plan. */

/** A plan node: the fields the tests read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Filter?: string;
  /** With ANALYZE only. */
  'Actual Loops'?: number;
  /** With ANALYZE only: rows per loop. */
  'Actual Rows'?: number;
  /** With ANALYZE only, per loop. */
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** The top node of an `EXPLAIN (FORMAT JSON …)` answer's rows. */
export function planOf(rows: readonly Record<string, unknown>[]): PlanNode {
  return (rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan;
}

/** `node` and every node below it, depth first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}
