/**
 * The launcher's live swarm page (`npm run cluster` prints its URL): an HTTP
 * server on 127.0.0.1 serving `GET /` (swarm-page.ts) and `GET /swarm.json`
 * (every node's samples so far). Loopback only, like a daemon's default.
 *
 *   const dashboard = new SwarmDashboard({ port: 0, title: 'swarm cluster-1', data: () => swarmData(...) });
 *   const url = await dashboard.start();   // http://127.0.0.1:PORT/
 *   await dashboard.stop();
 */
import { HttpServer, jsonResponse } from '../node/http.ts';
import { swarmPageHtml, type SwarmData } from './swarm-page.ts';

export const SWARM_DATA_PATH = '/swarm.json';

export class SwarmDashboard {
  private readonly http: HttpServer;

  constructor(options: { port: number; title: string; data: () => SwarmData }) {
    this.http = new HttpServer({ host: '127.0.0.1', port: options.port });
    const page = swarmPageHtml({ title: options.title });
    this.http.addRoute('GET', '/', () => ({ status: 200, type: 'text/html; charset=utf-8', body: page }));
    this.http.addRoute('GET', SWARM_DATA_PATH, () => jsonResponse(options.data()));
  }

  /** Listens; returns the page's URL. */
  async start(): Promise<string> {
    const { baseUrl } = await this.http.start();
    return `${baseUrl}/`;
  }

  stop(): Promise<void> {
    return this.http.stop();
  }
}
