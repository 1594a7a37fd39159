import { describe, expect, it } from 'vitest';
import { EXIT_MARGIN_MS, Supervisor, type Stop } from '../../src/runtime/cluster/supervisor.ts';
import type { ListeningMessage } from '../../src/runtime/cluster/messages.ts';
import { captureLogger } from '../observability/capture.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';
import { FakeCluster } from './support/fakes.ts';

/** The cluster primary's worker slots, on a fake cluster and a clock moved by hand. */

function setup(workers = 2) {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const log = captureLogger();
  const ready: ListeningMessage[] = [];
  let restarts = 0;
  const supervisor = new Supervisor({
    cluster,
    workers,
    logger: log.logger,
    clock,
    restart: { baseDelayMs: 100, maxDelayMs: 1_000, maxRestarts: 2, windowMs: 10_000 },
    onReady: (message) => ready.push(message),
    onRestart: () => (restarts += 1),
  });
  let stopped: Stop | undefined;
  void supervisor.stopped.then((reason) => (stopped = reason));
  const events = () => log.lines().map((line) => line['event']).filter((event) => event !== undefined);
  return { cluster, clock, supervisor, ready, restarts: () => restarts, stopped: () => stopped, events };
}

describe('the cluster primary keeps one worker per slot', () => {
  it('is ready once every slot listens, and only once', () => {
    const { cluster, supervisor, ready } = setup(2);
    supervisor.start();
    expect(cluster.forked).toHaveLength(2);
    cluster.listen(cluster.forked[0]!);
    expect(ready).toEqual([]);
    expect(supervisor.listening()).toEqual([cluster.forked[0]]);
    cluster.listen(cluster.forked[1]!, 'http://127.0.0.1:9000');
    expect(ready).toEqual([{ tokengate: 'listening', main: 'http://127.0.0.1:9000' }]);
    cluster.listen(cluster.forked[1]!);
    expect(ready).toHaveLength(1);
  });

  it('a worker that exits before it listens at startup stops everything with its exit code (3 without one)', async () => {
    const first = setup(2);
    first.supervisor.start();
    first.cluster.listen(first.cluster.forked[0]!);
    first.cluster.exit(first.cluster.forked[1]!, 7);
    await settle();
    expect(first.stopped()).toEqual({ kind: 'startup-failed', code: 7 });
    expect(first.cluster.forked).toHaveLength(2);

    const second = setup(2);
    second.supervisor.start();
    second.cluster.exit(second.cluster.forked[0]!, null, 'SIGKILL');
    await settle();
    expect(second.stopped()).toEqual({ kind: 'startup-failed', code: 3 });
  });

  it('a worker that dies later is restarted in its slot after the policy delay, and logged by event', async () => {
    const { cluster, clock, supervisor, restarts, events, stopped } = setup(2);
    supervisor.start();
    for (const worker of cluster.forked) cluster.listen(worker);
    const [dying, other] = cluster.forked;
    dying!.orphans = 2;
    cluster.exit(dying!, 1);
    expect(supervisor.listening()).toEqual([other]);
    expect(restarts()).toBe(1);
    await clock.advance(99);
    expect(cluster.forked).toHaveLength(2);
    await clock.advance(1);
    expect(cluster.forked).toHaveLength(3);
    cluster.listen(cluster.forked[2]!);
    expect(supervisor.listening()).toHaveLength(2);
    expect(events()).toEqual(['worker_orphans_answered', 'worker_exited', 'worker_restarted']);
    expect(stopped()).toBeUndefined();
  });

  it('a worker that keeps dying within the window makes it give up', async () => {
    const { cluster, clock, supervisor, events, stopped } = setup(1);
    supervisor.start();
    // maxRestarts 2: the third death within 10 s gives up.
    for (let death = 1; death <= 3; death += 1) {
      const worker = cluster.forked.at(-1)!;
      cluster.listen(worker);
      cluster.exit(worker, 1);
      await clock.advance(1_000);
    }
    expect(cluster.forked).toHaveLength(3);
    expect(stopped()).toEqual({ kind: 'gave-up' });
    expect(events().at(-1)).toBe('workers_gave_up');
  });

  it('reload() asks every listening, connected worker', () => {
    const { cluster, supervisor } = setup(3);
    supervisor.start();
    const [a, b, c] = cluster.forked;
    cluster.listen(a!);
    cluster.listen(b!);
    b!.connected = false;
    expect(supervisor.reload()).toBe(1);
    expect(a!.sent).toEqual([{ tokengate: 'reload' }]);
    expect(b!.sent).toEqual([]);
    expect(c!.sent).toEqual([]);
  });
});

describe('the cluster primary shuts its workers down', () => {
  it('asks listening workers over IPC, SIGTERMs one still starting (it may not take messages yet), cancels pending restarts, and resolves once all exited', async () => {
    const { cluster, clock, supervisor } = setup(3);
    supervisor.start();
    const [listening, starting, dying] = cluster.forked;
    cluster.listen(listening!);
    cluster.listen(dying!);
    cluster.exit(dying!, 1);
    let done = false;
    void supervisor.shutDown(10_000).then(() => (done = true));
    expect(supervisor.draining).toBe(true);
    expect(listening!.sent).toEqual([{ tokengate: 'shutdown' }]);
    expect(listening!.signals).toEqual([]);
    expect(starting!.sent).toEqual([]);
    expect(starting!.signals).toEqual(['SIGTERM']);

    cluster.exit(listening!, 0);
    await settle();
    expect(done).toBe(false);
    cluster.exit(starting!, 0);
    await settle();
    expect(done).toBe(true);
    // The restart the dying worker had coming was cancelled.
    await clock.advance(60_000);
    expect(cluster.forked).toHaveLength(3);
  });

  it('a worker whose IPC send fails gets SIGTERM', () => {
    const { cluster, supervisor } = setup(1);
    supervisor.start();
    const [broken] = cluster.forked;
    cluster.listen(broken!);
    broken!.sendError = new Error('channel closed');
    void supervisor.shutDown(1_000);
    expect(broken!.sent).toEqual([{ tokengate: 'shutdown' }]);
    expect(broken!.signals).toEqual(['SIGTERM']);
  });

  it('SIGKILLs what is left past the grace period plus the margin', async () => {
    const { cluster, clock, supervisor } = setup(2);
    supervisor.start();
    for (const worker of cluster.forked) cluster.listen(worker);
    const [quick, stuck] = cluster.forked;
    let done = false;
    void supervisor.shutDown(1_000).then(() => (done = true));
    cluster.exit(quick!, 0);
    await clock.advance(1_000 + EXIT_MARGIN_MS - 1);
    expect(stuck!.signals).toEqual([]);
    await clock.advance(1);
    expect(stuck!.signals).toEqual(['SIGKILL']);
    expect(quick!.signals).toEqual([]);
    expect(done).toBe(false);
    cluster.exit(stuck!, null, 'SIGKILL');
    await settle();
    expect(done).toBe(true);
  });

  it('kill() SIGKILLs every worker alive (a second signal to the primary)', () => {
    const { cluster, supervisor } = setup(2);
    supervisor.start();
    cluster.exit(cluster.forked[0]!, 1);
    supervisor.kill();
    expect(cluster.forked.map((worker) => worker.signals)).toEqual([[], ['SIGKILL']]);
  });

  it('dispose() stops following the cluster', () => {
    const { cluster, supervisor } = setup(1);
    supervisor.start();
    expect(cluster.watched).toBe(true);
    supervisor.dispose();
    expect(cluster.watched).toBe(false);
  });
});
