import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DASHBOARD_HTML } from './page.ts';
import type { Metrics } from './sampler.ts';

/** A running dashboard. */
export interface DashboardServer {
  /** The page: `GET {url}/dashboard`; the data: `GET {url}/dashboard/metrics`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves the dashboard page and its metrics on 127.0.0.1. */
export async function startDashboardServer(metrics: () => Metrics, port = 0): Promise<DashboardServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (request.method === 'GET' && (path === '/dashboard' || path === '/')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(DASHBOARD_HTML);
      return;
    }
    if (request.method === 'GET' && path === '/dashboard/metrics') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(metrics()));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ message: `no route ${request.method} ${path}; routes: GET /dashboard, GET /dashboard/metrics` }),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
