import { afterEach, describe, expect, it, vi } from 'vitest';
import { aborted, delay, startStop, StopRequested, StopTimeoutError, withViews } from './lifecycle.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** A component whose run waits for its signal, then finishes a last piece of work. */
function loop() {
  const events: string[] = [];
  let signal: AbortSignal | undefined;
  const component = startStop({
    name: 'loop',
    setup: async () => {
      events.push('setup');
    },
    run: async (s) => {
      signal = s;
      events.push('run');
      await aborted(s);
      await Promise.resolve();
      events.push('drained');
    },
  });
  return { component, events, signal: () => signal };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('startStop', () => {
  it('stops before start without running anything', async () => {
    const { component, events } = loop();
    await component.stop();
    expect(component.state).toBe('idle');
    expect(events).toEqual([]);
  });

  it('aborts the run on stop and waits for its in-flight work', async () => {
    const { component, events, signal } = loop();
    await component.start();
    expect(component.state).toBe('running');
    expect(signal()?.aborted).toBe(false);
    await component.stop();
    expect(signal()?.aborted).toBe(true);
    expect(signal()?.reason).toBeInstanceOf(StopRequested);
    expect(events).toEqual(['setup', 'run', 'drained']);
    expect(component.state).toBe('idle');
  });

  it('shares one stop between concurrent and repeated calls', async () => {
    const { component, events } = loop();
    await component.start();
    const first = component.stop();
    expect(component.stop()).toBe(first);
    await first;
    await component.stop();
    expect(events.filter((e) => e === 'drained')).toHaveLength(1);
  });

  it('shares one start between repeated calls', async () => {
    const { component, events } = loop();
    await Promise.all([component.start(), component.start()]);
    await component.start();
    expect(events.filter((e) => e === 'setup')).toHaveLength(1);
    await component.stop();
  });

  it('can start again after a clean stop, with a fresh signal', async () => {
    const { component, events, signal } = loop();
    await component.start();
    await component.stop();
    await component.start();
    expect(signal()?.aborted).toBe(false);
    await component.stop();
    expect(events).toEqual(['setup', 'run', 'drained', 'setup', 'run', 'drained']);
  });

  it('rejects start when setup fails and stays startable', async () => {
    let attempts = 0;
    const component = startStop({
      name: 'flaky',
      setup: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('port in use');
      },
      run: (signal) => aborted(signal),
    });
    await expect(component.start()).rejects.toThrow('port in use');
    expect(component.state).toBe('idle');
    await component.start();
    expect(component.state).toBe('running');
    await component.stop();
  });

  it('times out a run that ignores its signal, and refuses to start again', async () => {
    vi.useFakeTimers();
    const release = gate();
    const component = startStop({ name: 'stubborn', run: () => release.opened });
    await component.start();
    const stopping = component.stop({ timeoutMs: 1_000 });
    const outcome = expect(stopping).rejects.toThrow(StopTimeoutError);
    await vi.advanceTimersByTimeAsync(999);
    expect(component.state).toBe('stopping');
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
    await expect(stopping).rejects.toMatchObject({ component: 'stubborn', timeoutMs: 1_000 });
    expect(component.state).toBe('stuck');
    await expect(component.start()).rejects.toThrow(/last stop timed out/);
    release.open();
  });

  it('stops a component whose setup is still running', async () => {
    const setupStarted = gate();
    let runSawAbort = false;
    const component = startStop({
      name: 'slow-setup',
      setup: async (signal) => {
        setupStarted.open();
        await aborted(signal);
      },
      run: async (signal) => {
        runSawAbort = signal.aborted;
      },
    });
    const starting = component.start();
    await setupStarted.opened;
    await component.stop();
    await starting;
    expect(runSawAbort).toBe(true);
    expect(component.state).toBe('idle');
  });

  it('reports a run that fails on its own through failed, and then stops cleanly', async () => {
    const component = startStop({
      name: 'crashy',
      run: async () => {
        throw new Error('lost the database');
      },
    });
    await component.start();
    const error = await component.failed;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('lost the database');
    await component.stop();
  });

  it('reports a run that returns before it is stopped through failed', async () => {
    const component = startStop({ name: 'quitter', run: async () => {} });
    await component.start();
    expect((await component.failed).message).toBe('quitter stopped on its own');
    await component.stop();
  });

  it('rejects stop with an error the run throws while stopping', async () => {
    const component = startStop({
      name: 'messy',
      run: async (signal) => {
        await aborted(signal);
        throw new Error('could not flush');
      },
    });
    await component.start();
    await expect(component.stop()).rejects.toThrow('could not flush');
    expect(component.state).toBe('idle');
  });

  it('treats an AbortError from the run as a clean stop', async () => {
    const component = startStop({
      name: 'abortable',
      run: async (signal) => {
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('x', 'AbortError'))));
      },
    });
    await component.start();
    await component.stop();
    expect(component.state).toBe('idle');
  });
});

describe('withViews', () => {
  it('adds live getters and methods to a component and keeps its lifecycle', async () => {
    let held = 0;
    const component = withViews(startStop({ name: 'viewed', setup: async () => void (held = 1), run: (signal) => aborted(signal) }), {
      get held() {
        return held;
      },
      twice: () => held * 2,
    });
    expect([component.name, component.state, component.held]).toEqual(['viewed', 'idle', 0]);
    await component.start();
    expect([component.state, component.held, component.twice()]).toEqual(['running', 1, 2]);
    await component.stop();
    expect(component.state).toBe('idle');
  });
});

describe('delay', () => {
  it('resolves true when the time has passed', async () => {
    vi.useFakeTimers();
    const waiting = delay(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(waiting).resolves.toBe(true);
  });

  it('resolves false as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = delay(60_000, controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBe(false);
    await expect(delay(60_000, controller.signal)).resolves.toBe(false);
  });
});
