/**
 * The local services for a run, through the same entry point the tests use
 * (scripts/local/local-services.ts): reuse what is already running, start what is not, and remember
 * which ones this process started, because only those are stopped at the end.
 */
import { install, provision, ServiceName, serviceNames, start, status, stop, waitReady } from '../local-services';

export class LocalServices {
  /** Services this process launched (and so stops). */
  private started: ServiceName[] = [];
  private launching?: Promise<unknown>;
  /** Set by `down`: an `up` still on its way must not launch anything any more. */
  private closed = false;

  get startedHere(): readonly ServiceName[] {
    return this.started;
  }

  /**
   * Services with a pid file of this data dir are reused (and awaited if still starting); a
   * service that answers without one (e.g. docker compose) is reused as is; the rest are started.
   */
  async up(say: (msg: string) => void): Promise<{ reused: ServiceName[]; started: ServiceName[] }> {
    const before = await status();
    const notOurs = before.filter((s) => s.pid === undefined && s.ready).map((s) => s.name);
    const toStart = before.filter((s) => s.pid === undefined && !s.ready).map((s) => s.name);
    const reused = serviceNames.filter((n) => !toStart.includes(n));
    if (toStart.length > 0) {
      say(`starting ${toStart.join(', ')} (reusing ${reused.join(', ') || 'none'}); Cassandra takes about a minute`);
      await install();
      if (this.closed) throw new Error('stopped before the services were launched');
      // Launch without waiting, so an interrupt knows exactly what exists and can stop it.
      this.started = [...toStart];
      this.launching = start(toStart, { wait: false });
      await this.launching;
    } else {
      say(`reusing the running services (${serviceNames.join(', ')})`);
    }
    const managed = serviceNames.filter((n) => !notOurs.includes(n));
    await Promise.all(managed.map((n) => waitReady(n)));
    await provision({ info: () => undefined, warn: (obj, msg) => say(`WARNING ${msg} ${JSON.stringify(obj)}`) });
    return { reused, started: toStart };
  }

  /** Stops what `up` started (after any launch in progress settled); safe to call twice. */
  async down(): Promise<readonly ServiceName[]> {
    this.closed = true;
    await this.launching?.catch(() => undefined);
    const names = this.started;
    if (names.length > 0) await stop(names);
    this.started = [];
    return names;
  }
}
