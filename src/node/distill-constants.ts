/**
 * Limits and timeouts of the knowledge-transfer join (`/gossip-learn/distill/1.0.0`).
 * Kept beside the daemon's constants.ts (which holds the protocol id) so the
 * distill service's knobs are found in one place, units in the names.
 */

/** Every read on a distill stream gives up after this (reads never wait more than 30 s: a stalled stream is reset). */
export const DISTILL_READ_TIMEOUT_MS = 15_000;
/** Largest teacher answer a joiner accepts: a cnn/mlp snapshot in f32 is < 1 MiB; 16 MiB leaves room for bigger registry models. */
export const DISTILL_MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** A request is a frame header plus a short model name. */
export const DISTILL_MAX_REQUEST_BYTES = 4 * 1024;
/** Joiners a teacher serves at once; the others get BUSY and try another teacher. */
export const DISTILL_MAX_CONCURRENT_JOINERS = 2;
/** How long a first start waits for announcements and a teacher answer before a cold start. */
export const DISTILL_JOIN_DEADLINE_MS = 30_000;
/**
 * When every announced peer is untrained, a first start cold-starts after one
 * announce interval plus this margin (a gossipsub heartbeat is 1 s), not the
 * whole deadline: 6 s with the default 5 s announce interval.
 */
export const DISTILL_UNTRAINED_GRACE_EXTRA_MS = 1_000;
/** Default distillation budget of a join. */
export const DISTILL_DEFAULT_STEPS = 300;
export const DISTILL_DEFAULT_SECONDS = 60;
/** Snapshots served to joiners: 8-bit quantized, about 4x smaller than f32 at ~no accuracy cost. */
export const DISTILL_DEFAULT_CODEC = 'q8+deflate';
/** A node whose model differs from the swarm's re-distills from a teacher this often. */
export const DISTILL_REFRESH_INTERVAL_MS = 120_000;
