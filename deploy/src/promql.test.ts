/** The PromQL reference extraction and the exposition check the metric-name test relies on. */
import { describe, expect, it } from 'vitest';
import { parseExposition } from './checks/exposition.js';
import { labelValuesAsQuery, queryRefs, substituteGrafanaVariables } from './checks/promql.js';
import { checkAgainstExposition } from './checks/queries.js';

describe('queryRefs', () => {
  it('finds metric names and label matchers, not functions, aggregations or keywords', () => {
    const refs = queryRefs(
      'histogram_quantile(0.99, sum by (le, step_type) (rate(gantry_step_duration_seconds_bucket{namespace="x", job=~"gantry-.*"}[5m]))) > bool 0.5',
    );
    expect(refs.selectors).toEqual([
      {
        name: 'gantry_step_duration_seconds_bucket',
        matchers: [
          { label: 'namespace', op: '=', value: 'x' },
          { label: 'job', op: '=~', value: 'gantry-.*' },
        ],
      },
    ]);
    expect(refs.groupingLabels).toEqual(['le', 'step_type']);
  });

  it('reads joins, offsets, subqueries, aggregations written after their argument and recorded names', () => {
    const refs = queryRefs(
      `(sum(a_total) by (pool) * on (namespace, pod) group_left (pool) b{x="1"} unless c offset 10m)
       or max_over_time(d[1h:5m]) or gantry:ratio_rate5m or sum without (instance) (e) and time() - vector(0)`,
    );
    expect(refs.selectors.map((s) => s.name)).toEqual(['a_total', 'b', 'c', 'd', 'gantry:ratio_rate5m', 'e']);
    expect(new Set(refs.groupingLabels)).toEqual(new Set(['pool', 'namespace', 'pod', 'instance']));
  });

  it('reads a selector given by __name__ and reports one without a name', () => {
    expect(queryRefs('{__name__="up", job="a"}').selectors).toEqual([{ name: 'up', matchers: [{ label: 'job', op: '=', value: 'a' }] }]);
    expect(queryRefs('{job="a"}').selectors).toEqual([{ name: '', matchers: [{ label: 'job', op: '=', value: 'a' }] }]);
  });

  it('keeps escaped quotes inside label values and ignores comments', () => {
    expect(queryRefs('m{a="x\\"y", b=\'z\'} # not_a_metric').selectors[0]!.matchers.map((m) => m.value)).toEqual(['x"y', 'z']);
  });

  it('refuses malformed matchers', () => {
    expect(() => queryRefs('m{a}')).toThrow(/matcher/);
    expect(() => queryRefs('m{a="1"')).toThrow();
  });

  it('substitutes Grafana variables and turns label_values into an equivalent query', () => {
    expect(substituteGrafanaVariables('rate(x{ns="$namespace", j=~"${service}"}[$__rate_interval])')).toBe('rate(x{ns="gantry", j=~"gantry"}[2m])');
    expect(labelValuesAsQuery('label_values(gantry_service_info{namespace="$namespace"}, job)')).toBe('count by (job) (gantry_service_info{namespace="$namespace"})');
  });
});

describe('checkAgainstExposition', () => {
  const exp = parseExposition(
    [
      '# TYPE gantry_queue_wait_seconds histogram',
      'gantry_queue_wait_seconds_bucket{le="1",pool="default"} 3',
      'gantry_queue_wait_seconds_bucket{le="+Inf",pool="default"} 4',
      'gantry_queue_wait_seconds_sum{pool="default"} 2.5',
      'gantry_queue_wait_seconds_count{pool="default"} 4',
      '# TYPE gantry_write_errors_total counter',
      '# TYPE gantry_dead_letters_total counter',
      '# TYPE gantry_live_workers gauge',
      'gantry_live_workers{pool="default"} 1',
    ].join('\n'),
  );
  const check = (expr: string) => checkAgainstExposition([{ origin: 'q', expr }], exp, new Set(['gantry:recorded']));

  it('accepts series that are served, target labels, recorded names and Prometheus’s own series', () => {
    expect(check('sum by (le, pool, namespace) (rate(gantry_queue_wait_seconds_bucket{le="1", pod="p"}[5m]))')).toEqual([]);
    expect(check('increase(gantry_write_errors_total{namespace="n"}[5m]) + gantry:recorded{whatever="x"}')).toEqual([]);
    expect(check('up{job="gantry-api"} == 0')).toEqual([]);
  });

  it('reports a metric nobody serves, a label it does not have, a bucket it lacks and an unknown grouping label', () => {
    expect(check('gantry_jobs_lost_total')).toEqual(['q: metric gantry_jobs_lost_total is not exposed by any service']);
    expect(check('gantry_live_workers{poool="x"}')[0]).toMatch(/has no label poool/);
    expect(check('gantry_queue_wait_seconds_bucket{le="10"}')[0]).toMatch(/no bucket le="10"/);
    expect(check('sum by (priority) (gantry_live_workers)')[0]).toMatch(/label priority/);
    expect(check('up{service="x"}')[0]).toMatch(/up has no label service/);
  });

  it('asks for activity when a label is matched on a metric that has no samples yet', () => {
    expect(check('gantry_dead_letters_total{reason="X"}')[0]).toMatch(/no samples/);
  });
});
