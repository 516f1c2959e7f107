/**
 * Runs inside a test namespace (`ip netns exec NS node poll-metrics.ts URL...`)
 * for test/netns/across-nats.ts: the daemons there serve /metrics on the
 * namespace's own 127.0.0.1, which the test process cannot reach. Every
 * second it prints one JSON line per URL, `{"url", "metrics"}` or
 * `{"url", "error"}`; it exits when its stdin closes (the test ended) or on
 * SIGTERM.
 */
const urls = process.argv.slice(2);
const POLL_INTERVAL_MS = 1000;
const FETCH_TIMEOUT_MS = 2000;

let stopped = false;
process.stdin.on('end', () => (stopped = true)).on('close', () => (stopped = true)).resume();
process.on('SIGTERM', () => (stopped = true));

while (!stopped) {
  for (const url of urls) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      process.stdout.write(`${JSON.stringify({ url, metrics: await response.json() })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ url, error: (err as Error).message })}\n`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
}
process.exit(0);
