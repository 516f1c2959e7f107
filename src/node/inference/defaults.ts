/**
 * Defaults and limits of `POST /predict` (flags in src/node/config.ts), in
 * their own file so the configuration does not load the service.
 *
 * Measured with `npm run bench:predict` (README "Inference"): at 64
 * concurrent clients batches of up to 64 rows gave 2.0x to 2.3x the
 * requests/s of no batching (about 40 rows a batch on average, half the
 * daemon CPU per request), and a batch waits for the window only while
 * another request is still arriving, so a lone client waits for nothing
 * (waiting for fuller batches cost more CPU per request). Against 1 ms, 10 ms and batches of 16 or 256 rows
 * (README "Inference") no setting stood out beyond the noise of a shared
 * 2-core machine, so the window stays small.
 */

/** --predict-batch-window: how long the first request of a batch waits for others. */
export const DEFAULT_PREDICT_BATCH_WINDOW_MS = 2;
/** --predict-max-batch: most rows in one forward pass. */
export const DEFAULT_PREDICT_MAX_BATCH = 64;
/** --predict-max-queue: most rows waiting for a batch before requests get 503. */
export const DEFAULT_PREDICT_MAX_QUEUE = 1024;
/** Most rows one request may carry (and the largest --predict-max-batch). */
export const MAX_INSTANCES_PER_REQUEST = 1024;
/** Largest request body read: 1024 rows of 784 pixels written with ~8 characters each fit with room to spare. */
export const MAX_PREDICT_BODY_BYTES = 8 * 1024 * 1024;
/** Seconds a client is asked to wait after a 503 (the queue drains in milliseconds; 1 is the smallest Retry-After). */
export const PREDICT_RETRY_AFTER_SECONDS = 1;
