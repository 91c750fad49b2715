/** The probe and scrape endpoints every app serves: /metrics, /healthz (liveness), /readyz (readiness). */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';

export interface HttpServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** @default 0.0.0.0 (the kubelet and Prometheus reach the pod IP) */
  readonly host?: string;
  readonly registry: Registry;
  /** 503 on /readyz while false: not yet connected, or draining on shutdown. */
  readonly isReady: () => boolean;
  /** 503 on /healthz while false, so the kubelet restarts a wedged process. @default always healthy */
  readonly isHealthy?: () => boolean;
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const probe = (ok: boolean) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unavailable\n');
    };
    switch (path) {
      case '/metrics':
        opts.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body),
          (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
        );
        return;
      case '/healthz':
        return probe(opts.isHealthy ? opts.isHealthy() : true);
      case '/readyz':
        return probe(opts.isReady());
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  // Scrapes and probes are tiny; do not let a slow client hold a socket open.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
