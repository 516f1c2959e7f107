/**
 * The daemon's HTTP server (127.0.0.1 by default) with a small route table:
 * `/metrics` (JSON) and `/healthz` come built in; other services add routes
 * (`/metrics/prometheus` by the hardening engineer) with `addRoute` before or
 * after `start()`.
 *
 *   const http = new HttpServer({ host: '127.0.0.1', port: 0 });
 *   http.addRoute('GET', '/metrics', () => ({ status: 200, type: 'application/json', body: '{}' }));
 *   const { url } = await http.start();
 *
 * With a `token` (--metrics-token) every route but `/healthz` answers 401
 * unless the request carries `Authorization: Bearer <token>` (compared in
 * constant time); routes added later follow the same rule. A browser asking
 * for a page (GET, Accept: text/html) without it gets, with the same 401, the
 * `signInPage` when one is set (the dashboard's: it asks for the token and
 * sends it as that header, src/node/dashboard/sign-in.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';

/** The one route open without the token: liveness probes carry no secrets. */
export const UNAUTHENTICATED_PATH = '/healthz';

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are
 * hashed to SHA-256 first, so timingSafeEqual compares equal lengths and the
 * time taken says nothing about the token, not even its length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const given = createHash('sha256').update(match?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && match !== null;
}

export interface HttpResponse {
  status: number;
  /** Content-Type header. */
  type: string;
  body: string;
  /** Further response headers (e.g. retry-after), lower case. */
  headers?: Record<string, string>;
}

/**
 * Answers a request: returns the answer (or a promise of it), or returns
 * undefined and calls `respond` itself, exactly once (later calls are
 * ignored), from wherever the answer is ready: `POST /predict` answers a
 * whole batch of requests synchronously inside the batch's measured piece
 * (src/node/inference/predict-service.ts), without a promise turn per answer.
 */
export type RouteHandler = (req: IncomingMessage, respond: (answer: HttpResponse) => void) => HttpResponse | Promise<HttpResponse> | undefined;

export class HttpServer {
  private readonly routes = new Map<string, RouteHandler>();
  private server: Server | null = null;
  private readonly host: string;
  private readonly port: number;
  private readonly token: string | null;
  private readonly measure: <T>(run: () => T) => T;
  private readonly signInPage: string | null;

  /**
   * `measure` runs the synchronous part of each request's handling (the
   * daemon charges its CPU time to serving); `signInPage` is the HTML a
   * browser gets with a 401.
   */
  constructor(opts: { host: string; port: number; token?: string | null; measure?: <T>(run: () => T) => T; signInPage?: string | null }) {
    this.host = opts.host;
    this.port = opts.port;
    this.token = opts.token ?? null;
    this.measure = opts.measure ?? ((run) => run());
    this.signInPage = opts.signInPage ?? null;
  }

  /** Registers (or replaces) the handler of `METHOD path` (exact path, query string ignored). */
  addRoute(method: 'GET' | 'POST', path: string, handler: RouteHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  routeKeys(): string[] {
    return [...this.routes.keys()];
  }

  async start(): Promise<{ host: string; port: number; baseUrl: string }> {
    const server = createServer((req, res) => this.measure(() => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler = this.routes.get(`${req.method ?? 'GET'} ${path}`);
      let replied = false;
      const reply = (r: HttpResponse): void => {
        if (replied) return;
        replied = true;
        this.measure(() => {
          res.writeHead(r.status, r.headers === undefined ? { 'content-type': r.type, 'cache-control': 'no-store' } : { ...r.headers, 'content-type': r.type, 'cache-control': 'no-store' });
          res.end(r.body);
        });
      };
      if (this.token !== null && path !== UNAUTHENTICATED_PATH && !bearerMatches(req.headers.authorization, this.token)) {
        const page = this.signInPage !== null && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
        res.writeHead(401, { 'content-type': `text/${page ? 'html' : 'plain'}; charset=utf-8`, 'cache-control': 'no-store', 'www-authenticate': 'Bearer' });
        res.end(page ? this.signInPage : 'unauthorized: send Authorization: Bearer <--metrics-token>\n');
        return;
      }
      if (handler === undefined) {
        reply({ status: 404, type: 'text/plain; charset=utf-8', body: 'not found\n' });
        return;
      }
      // The handler's synchronous start runs inside this measured piece (one CPU clock read pair less per request than a piece of its own).
      const failed = (err: unknown): void => reply(internalErrorResponse(err));
      let answer: HttpResponse | Promise<HttpResponse> | undefined;
      try {
        answer = handler(req, reply);
      } catch (err) {
        failed(err);
        return;
      }
      if (answer !== undefined) Promise.resolve(answer).then(reply, failed);
    }));
    // Scrapers hold connections open; never let one keep shutdown waiting.
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, baseUrl: `http://${hostInUrl}:${address.port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Content-Type of every JSON answer. */
export const JSON_TYPE = 'application/json; charset=utf-8';

export const jsonResponse = (value: unknown, status = 200): HttpResponse => ({
  status,
  type: JSON_TYPE,
  body: `${JSON.stringify(value)}\n`,
});

/** The 500 a handler's unexpected error gets: the error's class name only (no message, no stack: they may carry internals). */
export const internalErrorResponse = (err: unknown): HttpResponse => ({ status: 500, type: 'text/plain; charset=utf-8', body: `${(err as Error | undefined)?.name ?? 'Error'}\n` });
