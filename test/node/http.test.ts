import { strict as assert } from 'node:assert';
import { HttpServer, jsonResponse, type HttpResponse } from '../../src/node/http.ts';

describe('HttpServer routes', () => {
  let http: HttpServer | null = null;
  afterEach(async () => {
    await http?.stop();
    http = null;
  });

  it('answers with what a handler returns, or what it passes to respond later (once: later calls are ignored), and 500 with the error class on a throw', async () => {
    http = new HttpServer({ host: '127.0.0.1', port: 0 });
    const waiting: Array<(answer: HttpResponse) => void> = [];
    http.addRoute('GET', '/returned', () => jsonResponse({ how: 'returned' }));
    http.addRoute('GET', '/promised', async () => jsonResponse({ how: 'promised' }));
    http.addRoute('GET', '/responded', (_req, respond) => {
      waiting.push(respond);
      return undefined;
    });
    http.addRoute('GET', '/thrown', () => {
      throw new RangeError('internal detail');
    });
    const { baseUrl } = await http.start();
    const text = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`${baseUrl}${path}`);
      return [res.status, await res.text()];
    };
    assert.deepEqual(await text('/returned'), [200, '{"how":"returned"}\n']);
    assert.deepEqual(await text('/promised'), [200, '{"how":"promised"}\n']);
    assert.deepEqual(await text('/thrown'), [500, 'RangeError\n']);
    const responded = text('/responded');
    const deadline = Date.now() + 10_000;
    while (waiting.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(waiting.length, 1, 'the handler ran');
    waiting[0]!({ status: 202, type: 'text/plain', body: 'first', headers: { 'x-answer': '1' } });
    waiting[0]!({ status: 200, type: 'text/plain', body: 'second' });
    assert.deepEqual(await responded, [202, 'first']);
  });
});
