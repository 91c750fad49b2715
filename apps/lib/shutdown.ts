/**
 * Ordered, bounded shutdown. Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds
 * (30 s by default) before SIGKILL; we run cleanups in REVERSE registration order (register
 * what you start, in start order: http server, clients, consumer) and exit 0, or exit 1 if
 * they overrun the budget. Unhandled errors log and shut down with exit code 1, so the pod
 * restarts instead of limping on.
 */
import type { Logger } from 'pino';

export type Cleanup = () => void | Promise<void>;

export interface ShutdownOptions {
  readonly logger?: Logger;
  /** Budget for all cleanups together. @default 25000 (under the 30 s k8s grace period) */
  readonly timeoutMs?: number;
  /** Injected in tests. @default process.exit */
  readonly exit?: (code: number) => void;
}

export class ShutdownCoordinator {
  private readonly hooks: { name: string; fn: Cleanup }[] = [];
  private running?: Promise<void>;
  private logger?: Logger;
  private timeoutMs: number;
  private exit: (code: number) => void;

  constructor(opts: ShutdownOptions = {}) {
    this.logger = opts.logger;
    this.timeoutMs = opts.timeoutMs ?? 25_000;
    this.exit = opts.exit ?? ((code) => process.exit(code));
  }

  configure(opts: ShutdownOptions): void {
    if (opts.logger) this.logger = opts.logger;
    if (opts.timeoutMs !== undefined) this.timeoutMs = opts.timeoutMs;
    if (opts.exit) this.exit = opts.exit;
  }

  register(fn: Cleanup, name = `cleanup-${this.hooks.length + 1}`): void {
    this.hooks.push({ name, fn });
  }

  get inProgress(): boolean {
    return this.running !== undefined;
  }

  /** Runs every cleanup once (later calls join the first), then exits with `exitCode`. */
  shutdown(reason: string, exitCode = 0): Promise<void> {
    if (this.running) return this.running;
    this.logger?.info({ reason }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const cleanups = (async () => {
      let code = exitCode;
      for (const { name, fn } of [...this.hooks].reverse()) {
        try {
          await fn();
        } catch (err) {
          code = 1;
          this.logger?.error({ err, cleanup: name }, 'cleanup failed');
        }
      }
      return code;
    })();
    const deadline = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        this.logger?.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out; exiting without finishing cleanups');
        resolve(1);
      }, this.timeoutMs);
      timer.unref();
    });
    this.running = Promise.race([cleanups, deadline]).then((code) => {
      clearTimeout(timer);
      this.logger?.flush?.();
      this.exit(code);
    });
    return this.running;
  }

  /** Wires SIGTERM/SIGINT and unhandled errors of `proc` to `shutdown`. */
  install(proc: NodeJS.Process = process): void {
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C means "now": skip the remaining cleanups.
      if (this.running) this.exit(130);
      else void this.shutdown(signal, 0);
    };
    proc.on('SIGTERM', onSignal);
    proc.on('SIGINT', onSignal);
    const fatal = (kind: string) => (err: unknown) => {
      this.logger?.fatal({ err }, kind);
      void this.shutdown(kind, 1);
    };
    proc.on('uncaughtException', fatal('uncaught exception'));
    proc.on('unhandledRejection', fatal('unhandled rejection'));
  }
}

let processCoordinator: ShutdownCoordinator | undefined;

/** The process-wide coordinator, bound to the process's signals on first use. */
export function processShutdown(): ShutdownCoordinator {
  if (!processCoordinator) {
    processCoordinator = new ShutdownCoordinator();
    processCoordinator.install();
  }
  return processCoordinator;
}

/** Registers a cleanup to run on SIGTERM/SIGINT/fatal error (reverse registration order). */
export function onShutdown(fn: Cleanup, name?: string): void {
  processShutdown().register(fn, name);
}

/** Sets the logger (and optionally the time budget) used by the process-wide shutdown. */
export function configureShutdown(opts: Omit<ShutdownOptions, 'exit'>): void {
  processShutdown().configure(opts);
}

/** Starts the shutdown from code, e.g. when a bounded producer run is done. */
export function shutdown(reason: string, exitCode = 0): Promise<void> {
  return processShutdown().shutdown(reason, exitCode);
}

export function isShuttingDown(): boolean {
  return processCoordinator?.inProgress ?? false;
}
