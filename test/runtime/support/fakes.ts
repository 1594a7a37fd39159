import { EventEmitter } from 'node:events';
import type { Cluster, ClusterEvents, ClusterWorker } from '../../../src/runtime/cluster/cluster.ts';
import type { ClusterMessage } from '../../../src/runtime/cluster/messages.ts';
import type { DrainableServer, TrackedResponse } from '../../../src/runtime/listeners.ts';

/** A node:http Server as Listeners sees it: requests are emitted by hand, close completes when the test says. */
export class FakeServer extends EventEmitter implements DrainableServer {
  listening = true;
  closeRequested = false;
  idleClosed = 0;
  allClosed = 0;
  #onClosed: Array<() => void> = [];

  close(callback: () => void): this {
    this.closeRequested = true;
    this.#onClosed.push(callback);
    return this;
  }

  closeIdleConnections(): void {
    this.idleClosed += 1;
  }

  closeAllConnections(): void {
    this.allClosed += 1;
  }

  /** The last connection ended: the server reports closed. */
  finishClose(): void {
    this.listening = false;
    for (const callback of this.#onClosed.splice(0)) callback();
  }

  request(): FakeResponse {
    const res = new FakeResponse();
    this.emit('request', {}, res);
    return res;
  }
}

export class FakeResponse extends EventEmitter implements TrackedResponse {
  headersSent = false;
  shouldKeepAlive = true;
  readonly headers = new Map<string, string>();

  setHeader(name: string, value: string): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }

  /** Headers go out (the handler answered). */
  answer(): void {
    this.headersSent = true;
  }

  /** The response is done (or the client went away). */
  finish(): void {
    this.emit('close');
  }
}

export class FakeWorker implements ClusterWorker {
  readonly id: number;
  readonly pid: number;
  connected = true;
  dead = false;
  readonly sent: ClusterMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];
  /** Connections handed to it and never taken, answered when it exits. */
  orphans = 0;
  /** What send's callback reports (an IPC channel that broke). */
  sendError: Error | null = null;

  constructor(id: number) {
    this.id = id;
    this.pid = 10_000 + id;
  }

  isConnected(): boolean {
    return this.connected;
  }

  isDead(): boolean {
    return this.dead;
  }

  send(message: ClusterMessage, callback?: (err: Error | null) => void): void {
    this.sent.push(message);
    callback?.(this.sendError);
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }

  answerOrphans(): number {
    const count = this.orphans;
    this.orphans = 0;
    return count;
  }
}

/** node:cluster as the primary sees it; the test makes workers listen and exit. */
export class FakeCluster implements Cluster {
  readonly forked: FakeWorker[] = [];
  #events: ClusterEvents | undefined;

  fork(): FakeWorker {
    const worker = new FakeWorker(this.forked.length + 1);
    this.forked.push(worker);
    return worker;
  }

  watch(events: ClusterEvents): () => void {
    this.#events = events;
    return () => {
      this.#events = undefined;
    };
  }

  get watched(): boolean {
    return this.#events !== undefined;
  }

  /** Workers forked and not exited. */
  get alive(): FakeWorker[] {
    return this.forked.filter((worker) => !worker.dead);
  }

  listen(worker: FakeWorker, main = 'http://127.0.0.1:8080'): void {
    this.#events?.message(worker, { tokengate: 'listening', main });
  }

  message(worker: FakeWorker, message: unknown): void {
    this.#events?.message(worker, message);
  }

  exit(worker: FakeWorker, code: number | null, signal: string | null = null): void {
    worker.dead = true;
    worker.connected = false;
    this.#events?.exit(worker, code, signal);
  }
}
