import http from 'node:http';
import https from 'node:https';

/**
 * One keep-alive agent per upstream origin, created on first use. Without an agent http-proxy-3
 * sends `Connection: close` and every request pays a new TCP (and TLS) handshake.
 *
 * As many sockets may wait idle as may be in use: with fewer, every burst of more concurrent
 * requests than that would close the extra sockets as they came free and open new ones for the
 * next burst. Idle sockets close when the upstream's keep-alive timeout says so.
 */
export class UpstreamAgents {
  readonly #agents = new Map<string, http.Agent>();
  readonly #options: http.AgentOptions;

  constructor(options: http.AgentOptions = {}) {
    this.#options = { keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo', ...options };
  }

  for(upstream: URL): http.Agent {
    let agent = this.#agents.get(upstream.origin);
    if (agent === undefined) {
      agent = upstream.protocol === 'https:' ? new https.Agent(this.#options) : new http.Agent(this.#options);
      this.#agents.set(upstream.origin, agent);
    }
    return agent;
  }

  /** Destroys every socket, idle or busy. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
