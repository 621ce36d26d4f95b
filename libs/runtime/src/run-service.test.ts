import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { aborted, startStop, type Component } from './lifecycle.js';
import { createLogger } from './logger.js';
import { EXIT_FAILURE, EXIT_FORCED, EXIT_GRACE_MS, EXIT_OK, runService, type ServiceProcess } from './run-service.js';
import { trackResource } from './resources.js';

class FakeProcess extends EventEmitter implements ServiceProcess {
  exitCode: number | string | null | undefined;
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

class FakeStdin extends EventEmitter {
  resumed = false;
  destroyed = false;
  resume(): void {
    this.resumed = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

interface Recorder {
  readonly log: string[];
  component(name: string, opts?: { onStarted?: () => void; failStart?: boolean; stopGate?: Promise<void> }): Component;
}

function recorder(): Recorder {
  const log: string[] = [];
  return {
    log,
    component: (name, opts = {}) =>
      startStop({
        name,
        setup: async () => {
          if (opts.failStart) throw new Error(`${name} cannot start`);
          log.push(`start ${name}`);
          opts.onStarted?.();
        },
        run: async (signal) => {
          await aborted(signal);
          await opts.stopGate;
          log.push(`stop ${name}`);
        },
      }),
  };
}

describe('runService', () => {
  it('starts in order, stops in reverse order on SIGTERM and exits 0', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const started = gate();
    const running = runService({
      logger,
      process: proc,
      timeoutMs: 5_000,
      components: [rec.component('nats'), rec.component('health'), rec.component('loop', { onStarted: started.open })],
    });
    await started.opened;
    proc.emit('SIGTERM');
    await expect(running).resolves.toBe(EXIT_OK);
    expect(rec.log).toEqual(['start nats', 'start health', 'start loop', 'stop loop', 'stop health', 'stop nats']);
    expect(proc.exitCode).toBe(EXIT_OK);
    expect(proc.exits).toEqual([]);
    expect(proc.listenerCount('SIGTERM') + proc.listenerCount('SIGINT')).toBe(0);
  });

  it('stops what started and exits 1 when a component fails to start', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const code = await runService({
      logger,
      process: proc,
      timeoutMs: 5_000,
      components: [rec.component('a'), rec.component('b', { failStart: true }), rec.component('c')],
    });
    expect(code).toBe(EXIT_FAILURE);
    expect(proc.exitCode).toBe(EXIT_FAILURE);
    expect(rec.log).toEqual(['start a', 'stop a']);
  });

  it('shuts down with exit code 1 when a running component fails', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const crash = gate();
    const crashing = startStop({
      name: 'crashing',
      run: async () => {
        await crash.opened;
        throw new Error('lost NATS');
      },
    });
    const running = runService({ logger, process: proc, timeoutMs: 5_000, components: [rec.component('a'), crashing] });
    crash.open();
    await expect(running).resolves.toBe(EXIT_FAILURE);
    expect(rec.log).toEqual(['start a', 'stop a']);
  });

  it('exits 1 when a component does not stop within the deadline, and still stops the others', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const started = gate();
    const never = gate();
    const running = runService({
      logger,
      process: proc,
      timeoutMs: 50,
      components: [rec.component('a'), rec.component('stuck', { onStarted: started.open, stopGate: never.opened })],
    });
    await started.opened;
    proc.emit('SIGINT');
    await expect(running).resolves.toBe(EXIT_FAILURE);
    expect(rec.log).toEqual(['start a', 'start stuck', 'stop a']);
    never.open();
  });

  it('exits after a grace when something is still open after the stop, and only then', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const started = gate();
    // A connection its component could not close: its server went away (NATS reconnecting forever).
    const release = trackResource('nats', 'gone 127.0.0.1:4333');
    try {
      const running = runService({ logger, process: proc, timeoutMs: 5_000, components: [rec.component('loop', { onStarted: started.open })] });
      await started.opened;
      proc.emit('SIGTERM');
      await expect(running).resolves.toBe(EXIT_OK);
      expect(proc.exits).toEqual([]);
      await new Promise((r) => setTimeout(r, EXIT_GRACE_MS + 200));
      expect(proc.exits).toEqual([EXIT_OK]);
    } finally {
      release();
    }
    // With nothing left open, the process ends as its event loop empties: no exit call.
    const clean = new FakeProcess();
    const cleanStarted = gate();
    const running = runService({ logger, process: clean, timeoutMs: 5_000, components: [rec.component('loop2', { onStarted: cleanStarted.open })] });
    await cleanStarted.opened;
    clean.emit('SIGTERM');
    await running;
    await new Promise((r) => setTimeout(r, EXIT_GRACE_MS + 200));
    expect(clean.exits).toEqual([]);
  });

  it('forces the exit on a second signal', async () => {
    const proc = new FakeProcess();
    const rec = recorder();
    const started = gate();
    const release = gate();
    const running = runService({
      logger,
      process: proc,
      timeoutMs: 60_000,
      components: [rec.component('slow', { onStarted: started.open, stopGate: release.opened })],
    });
    await started.opened;
    proc.emit('SIGTERM');
    expect(proc.exits).toEqual([]);
    proc.emit('SIGINT');
    expect(proc.exits).toEqual([EXIT_FORCED]);
    release.open();
    await running;
  });

  it('stops a component still starting when the signal arrives', async () => {
    const proc = new FakeProcess();
    const setupBegan = gate();
    let runSawAbort = false;
    const slowStart = startStop({
      name: 'slow-start',
      setup: async (signal) => {
        setupBegan.open();
        await aborted(signal);
      },
      run: async (signal) => {
        runSawAbort = signal.aborted;
      },
    });
    const running = runService({ logger, process: proc, timeoutMs: 5_000, components: [slowStart] });
    await setupBegan.opened;
    proc.emit('SIGTERM');
    await expect(running).resolves.toBe(EXIT_OK);
    expect(runSawAbort).toBe(true);
  });

  it('stops like on SIGTERM once stdin ends when asked to, and lets stdin go', async () => {
    const proc = new FakeProcess();
    const stdin = new FakeStdin();
    Object.assign(proc, { stdin });
    const rec = recorder();
    const started = gate();
    const running = runService({
      logger, process: proc, timeoutMs: 5_000, stopWhenStdinCloses: true, components: [rec.component('loop', { onStarted: started.open })],
    });
    await started.opened;
    expect(stdin.resumed).toBe(true);
    stdin.emit('end');
    await expect(running).resolves.toBe(EXIT_OK);
    expect(rec.log).toEqual(['start loop', 'stop loop']);
    expect(stdin.destroyed).toBe(true);
    expect(stdin.listenerCount('end')).toBe(0);
  });

  it('does not read stdin unless asked to', async () => {
    const proc = new FakeProcess();
    const stdin = new FakeStdin();
    Object.assign(proc, { stdin });
    const started = gate();
    const running = runService({ logger, process: proc, timeoutMs: 5_000, components: [recorder().component('loop', { onStarted: started.open })] });
    await started.opened;
    stdin.emit('end');
    expect(stdin.resumed).toBe(false);
    proc.emit('SIGTERM');
    await expect(running).resolves.toBe(EXIT_OK);
  });
});
