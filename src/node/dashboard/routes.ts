/**
 * The dashboard's routes on the daemon's HTTP server (same bind and token
 * rules as `/metrics`, src/node/http.ts): `GET /` (the page,
 * daemon-page.ts) and `GET /metrics/history` (the ring buffer,
 * src/node/key-metrics/metrics-history.ts; `?since=<Unix seconds>` returns
 * only the newer points, which the page polls).
 *
 *   addDashboardRoutes(http, { history });
 */
import type { HttpServer } from '../http.ts';
import { jsonResponse } from '../http.ts';
import type { MetricsHistory } from '../key-metrics/metrics-history.ts';
import { daemonPageHtml } from './daemon-page.ts';

export const DASHBOARD_PATH = '/';
export const HISTORY_PATH = '/metrics/history';

export function addDashboardRoutes(http: HttpServer, options: { history: MetricsHistory }): void {
  http.addRoute('GET', DASHBOARD_PATH, () => ({ status: 200, type: 'text/html; charset=utf-8', body: daemonPageHtml() }));
  http.addRoute('GET', HISTORY_PATH, (req) => {
    const raw = new URL(req.url ?? '/', 'http://localhost').searchParams.get('since');
    if (raw === null) return jsonResponse(options.history.toJson());
    const since = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(since)) return jsonResponse({ error: `since must be a Unix time in seconds, got ${JSON.stringify(raw)}` }, 400);
    return jsonResponse(options.history.toJson(since));
  });
}
