/**
 * The registry from spec string to stages, and the parser that composes
 * them. Grammar (stages joined by `+`, in this order):
 *
 *   spec   := [sparse "+"] values ["+" entropy]
 *   sparse := "topk:" (fraction | count)     fraction: 0.x or 1.0 (0 < f <= 1), count: integer >= 1
 *   values := "f32" | "f16" | ("q8" | "q4" | "q2" | "q1") [":" block]
 *   entropy:= "deflate" | "brotli"
 *
 * Anything else (unknown stage, bad argument, wrong order, repeated kinds,
 * spaces, empty stages) is ProtocolError('unknown-codec'); codecSpecProblem
 * says the same in words, for a flag's error line.
 */
import { closestName } from '../../common/arg-errors.ts';
import { ProtocolError } from '../errors.ts';
import { BrotliStage, DeflateStage } from './entropy.ts';
import { Float16Stage } from './f16.ts';
import { Float32Stage } from './f32.ts';
import { DEFAULT_QUANT_BLOCK_SIZE, MAX_QUANT_BLOCK_SIZE, QuantizeStage } from './quantize.ts';
import type { QuantBits } from './quantize.ts';
import { CompressedStage } from './stage.ts';
import type { ByteStage, VectorStage } from './stage.ts';
import { TopkStage } from './topk.ts';
import type { TopkAmount } from './topk.ts';

/** Longest spec string accepted (it travels in every frame header). */
export const MAX_CODEC_SPEC_CHARS = 64;
/** Largest topk count accepted in a spec (u32 on the wire). */
const MAX_TOPK_COUNT = 0xffffffff;

type StageEntry =
  | { kind: 'values'; create(arg: string | undefined, token: string): VectorStage }
  | { kind: 'sparse'; create(arg: string | undefined, token: string, inner: VectorStage): VectorStage }
  | { kind: 'entropy'; create(arg: string | undefined, token: string): ByteStage };

/** What is wrong with a spec, in words (buildStages wraps it into ProtocolError('unknown-codec'); codecSpecProblem returns it). */
class SpecProblem extends Error {}

function bad(spec: string, why: string): SpecProblem {
  return new SpecProblem(`codec spec ${JSON.stringify(spec)}: ${why}`);
}

function noArgument(name: string, arg: string | undefined): void {
  if (arg !== undefined) throw new Error(`${name} takes no argument`);
}

function quantEntry(bits: QuantBits): StageEntry {
  return {
    kind: 'values',
    create(arg, token) {
      let blockSize = DEFAULT_QUANT_BLOCK_SIZE;
      if (arg !== undefined) {
        if (!/^[1-9][0-9]{0,8}$/.test(arg)) throw new Error(`block size must be a positive integer, got ${arg}`);
        blockSize = Number(arg);
        if (blockSize > MAX_QUANT_BLOCK_SIZE) throw new Error(`block size ${blockSize} > ${MAX_QUANT_BLOCK_SIZE}`);
      }
      return new QuantizeStage(bits, blockSize, token);
    },
  };
}

function parseTopkAmount(arg: string | undefined): TopkAmount {
  if (arg === undefined) throw new Error('topk needs a fraction or a count, e.g. topk:0.01');
  if (/^[1-9][0-9]{0,9}$/.test(arg)) {
    const count = Number(arg);
    if (count > MAX_TOPK_COUNT) throw new Error(`topk count ${count} too large`);
    return { kind: 'count', count };
  }
  if (/^[01]?\.[0-9]{1,9}$/.test(arg)) {
    const fraction = Number(arg);
    if (!(fraction > 0 && fraction <= 1)) throw new Error(`topk fraction must be in (0, 1], got ${arg}`);
    return { kind: 'fraction', fraction };
  }
  throw new Error(`topk argument must be a fraction like 0.01 or a count like 1000, got ${arg}`);
}

/** Name -> stage factory. Add new stages here (and nowhere else). */
const registry: Record<string, StageEntry> = {
  f32: { kind: 'values', create: (arg) => (noArgument('f32', arg), new Float32Stage()) },
  f16: { kind: 'values', create: (arg) => (noArgument('f16', arg), new Float16Stage()) },
  q8: quantEntry(8),
  q4: quantEntry(4),
  q2: quantEntry(2),
  q1: quantEntry(1),
  topk: { kind: 'sparse', create: (arg, token, inner) => new TopkStage(parseTopkAmount(arg), token, inner) },
  deflate: { kind: 'entropy', create: (arg) => (noArgument('deflate', arg), new DeflateStage()) },
  brotli: { kind: 'entropy', create: (arg) => (noArgument('brotli', arg), new BrotliStage()) },
};

/** The grammar above in one line, for people: what a --codec value may hold. */
export const CODEC_SPEC_SYNTAX = '[topk:FRACTION|COUNT +] f32 | f16 | q8 | q4 | q2 | q1[:BLOCK] [+ deflate | brotli], e.g. q8+deflate or topk:0.01+q4+deflate';

/** Parses and builds the stage chain; throws ProtocolError('unknown-codec') whose message says what is wrong. */
export function buildStages(spec: string): VectorStage {
  try {
    return parseStages(spec);
  } catch (error) {
    if (error instanceof SpecProblem) throw new ProtocolError('unknown-codec', error.message);
    throw error;
  }
}

/**
 * What is wrong with `spec`, as one line for a person (the problem, then the
 * valid stages: CODEC_SPEC_SYNTAX), or null for a valid spec.
 */
export function codecSpecProblem(spec: string): string | null {
  try {
    parseStages(spec);
    return null;
  } catch (error) {
    if (error instanceof SpecProblem) return `${error.message}; a spec is ${CODEC_SPEC_SYNTAX}`;
    throw error;
  }
}

function parseStages(spec: string): VectorStage {
  if (typeof spec !== 'string' || spec.length === 0) throw bad(String(spec), 'empty');
  if (spec.length > MAX_CODEC_SPEC_CHARS) throw bad(spec.slice(0, MAX_CODEC_SPEC_CHARS) + '...', 'too long');
  const tokens = spec.split('+');
  let index = 0;
  const next = (): { entry: StageEntry; arg: string | undefined; token: string } | null => {
    if (index >= tokens.length) return null;
    const token = tokens[index]!;
    const colon = token.indexOf(':');
    const name = colon < 0 ? token : token.slice(0, colon);
    const arg = colon < 0 ? undefined : token.slice(colon + 1);
    const entry = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (entry === undefined) {
      const close = closestName(name, Object.keys(registry));
      throw bad(spec, `unknown stage ${JSON.stringify(token)}${close === null || close === name ? '' : ` (did you mean ${close}?)`}`);
    }
    return { entry, arg, token };
  };
  try {
    let current = next();
    let sparse: { create: (inner: VectorStage) => VectorStage } | null = null;
    if (current !== null && current.entry.kind === 'sparse') {
      const { entry, arg, token } = current;
      sparse = { create: (inner) => entry.create(arg, token, inner) };
      index++;
      current = next();
    }
    if (current === null || current.entry.kind !== 'values') {
      throw new Error('expected a value stage (f32, f16, q8, q4, q2, q1)' + (current ? ` at ${JSON.stringify(current.token)}` : ''));
    }
    let stage: VectorStage = current.entry.create(current.arg, current.token);
    if (sparse !== null) stage = sparse.create(stage);
    index++;
    current = next();
    if (current !== null) {
      if (current.entry.kind !== 'entropy') throw new Error(`unexpected stage ${JSON.stringify(current.token)}`);
      stage = new CompressedStage(stage, current.entry.create(current.arg, current.token));
      index++;
      current = next();
      if (current !== null) throw new Error(`nothing may follow the entropy stage, got ${JSON.stringify(current.token)}`);
    }
    return stage;
  } catch (error) {
    if (error instanceof SpecProblem) throw error;
    throw bad(spec, error instanceof Error ? error.message : String(error));
  }
}
