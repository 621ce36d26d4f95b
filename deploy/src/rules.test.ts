/**
 * The alert rules: promtool accepts them, promtool's unit tests pass, every alert the issue asks
 * for exists with a severity and runbook text, and every alert's unit tests would catch an alert
 * that never fires (each alert is replaced in turn by one that cannot fire, and the tests must
 * then fail).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { promtool } from './checks/promtool.js';
import { ruleGroups } from './checks/queries.js';
import { deployPath } from './paths.js';

const RULES = 'gantry-rules.yaml';
const TESTS = 'gantry-rules.test.yaml';
const dir = deployPath('prometheus');

/** The alerts issue 6 lists, by name. */
const EXPECTED_ALERTS = [
  'GantryQueueWaitBudgetBurnFast',
  'GantryQueueWaitBudgetBurnSlow',
  'GantrySchedulerNoLeader',
  'GantryNoLiveWorkers',
  'GantryDispatchStalled',
  'GantryDeadLettersRising',
  'GantryJobFailureRatioHigh',
  'GantryJobsStuckRunning',
  'GantryEventWriteErrors',
  'GantryTargetDown',
];

const alerts = ruleGroups().flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

interface AlertTest {
  alertname: string;
  exp_alerts: unknown[];
}
const unitTests = (parse(readFileSync(join(dir, TESTS), 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests;

describe('promtool', () => {
  it('accepts the rule file (promtool check rules)', () => {
    const { code, output } = promtool(['check', 'rules', RULES], dir);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('passes the rules’ unit tests (promtool test rules)', () => {
    const { code, output } = promtool(['test', 'rules', TESTS], dir);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });
});

describe('the alerts', () => {
  it('are the ones the deployment promises', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([...EXPECTED_ALERTS].sort());
  });

  it('each have a severity, a pending period, a summary, a description and runbook text', () => {
    for (const a of alerts) {
      expect.soft(['critical', 'warning'], a.alert).toContain(a.labels?.severity);
      expect.soft(a.for, a.alert).toMatch(/^\d+[smh]$/);
      for (const key of ['summary', 'description', 'runbook']) expect.soft(a.annotations?.[key]?.length ?? 0, `${a.alert} ${key}`).toBeGreaterThan(20);
    }
  });

  it('each have a unit test where they fire and one where they stay quiet', () => {
    const cases = unitTests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      expect.soft(cases.some((c) => c.alertname === a.alert && c.exp_alerts.length > 0), `${a.alert} fires in a test`).toBe(true);
      expect.soft(cases.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0), `${a.alert} stays quiet in a test`).toBe(true);
    }
  });

  describe('unit tests that notice a broken alert', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'gantry-rules-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));
    const testFile = parse(readFileSync(join(dir, TESTS), 'utf8')) as { tests: { alert_rule_test?: AlertTest[]; promql_expr_test?: unknown }[] };

    it.each(alerts.map((a) => a.alert!))('fail when %s can never fire', (name) => {
      const groups = ruleGroups().map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert === name ? { ...r, expr: 'vector(0) > 1' } : r)) }));
      writeFileSync(join(scratch, RULES), stringify({ groups }, { lineWidth: 0 }));
      // Only this alert's cases, so that each run stays short.
      const tests = testFile.tests
        .filter((t) => t.alert_rule_test?.some((c) => c.alertname === name))
        .map(({ promql_expr_test: _, ...t }) => ({ ...t, alert_rule_test: t.alert_rule_test!.filter((c) => c.alertname === name) }));
      writeFileSync(join(scratch, TESTS), stringify({ ...testFile, tests }, { lineWidth: 0 }));
      const { code, output } = promtool(['test', 'rules', TESTS], scratch);
      expect(code).not.toBe(0);
      expect(output).toContain(name);
    });
  });
});
