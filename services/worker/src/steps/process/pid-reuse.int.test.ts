/**
 * The kill grace timer that `terminate()` arms fired whether or not the group was gone: it
 * probed `-pid` and, finding a group with that id, SIGKILLed it (and every process of session
 * `pid`), and unregistered `pid` from the worker's ProcessGroups. If the pid had been reused
 * meanwhile by the next step's command (a new group and session leader, exactly what
 * `spawnGroup` makes), the next step was killed. pid reuse is forced here with
 * /proc/sys/kernel/ns_last_pid (root), standing for a wrapped pid space.
 */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { alive } from '../../testing/processes.js';
import { ProcessGroups, spawnGroup, type GroupProcess } from './process-group.js';

const opts = (groups: ProcessGroups) => ({ cwd: '/', env: { PATH: '/usr/bin:/bin' }, killGraceMs: 3_000, groups, onOutput: () => {} });

describe('terminate() after the group is gone', () => {
  it('does not kill a later step whose command got the same pid', async () => {
    const groups = new ProcessGroups();
    let next: GroupProcess | undefined;
    let oldPid = 0;
    for (let tries = 0; tries < 30 && next === undefined; tries++) {
      // A step that is cancelled and stops at once on SIGTERM.
      const first = spawnGroup(['/bin/sleep', '300'], opts(groups));
      oldPid = first.pid!;
      await new Promise((r) => setTimeout(r, 50));
      first.terminate(3_000);
      const exit = await first.done;
      expect(exit.signal).toBe('SIGTERM');
      // The next step's command gets the pid that was freed.
      await writeFile('/proc/sys/kernel/ns_last_pid', String(oldPid - 1));
      const candidate = spawnGroup(['/bin/sleep', '300'], opts(groups));
      if (candidate.pid === oldPid) next = candidate;
      else {
        candidate.terminate(0);
        await candidate.done;
        await new Promise((r) => setTimeout(r, 3_100)); // let the first's timer pass before retrying
      }
    }
    expect(next, 'could not get the pid reused').toBeDefined();
    // Past the first step's kill grace.
    await new Promise((r) => setTimeout(r, 3_500));
    const stillRunning = await alive(next!.pid!);
    const registered = groups.size;
    next!.terminate(0);
    await next!.done;
    expect(stillRunning).toBe(true);
    expect(registered).toBe(1);
  }, 180_000);
});
