/**
 * The body of `POST /predict` in TensorFlow Serving's REST "row" format,
 * `{"instances": [row, row, ...]}`, checked and turned into one Float32Array
 * of flat rows. A row is a flat array of featureCount numbers, or, for image
 * data, a nested array of the image shape (`[28][28][1]`, or `[28][28]` for
 * one channel). Values are raw features as in the data files (pixels
 * 0..1 for the image sets); ./predict-service.ts applies a --normalization.
 *
 *   const { rows, count } = parseInstances(body, { featureCount: 784, imageShape: [28, 28, 1], maxInstances: 1024 });
 *
 * Every problem is an InstancesError whose reason is stable and whose
 * message names the place (`instances[3][17]: not a finite number (null)`).
 */
import { GossipLearnError } from '../../common/errors.ts';
import { scanInstances } from './instances-scanner.ts';

export type InstancesErrorReason = 'body-too-large' | 'bad-json' | 'no-instances' | 'too-many-instances' | 'bad-shape' | 'not-finite';

export class InstancesError extends GossipLearnError<InstancesErrorReason> {
  override readonly name = 'InstancesError';
}

export interface InstanceSchema {
  featureCount: number;
  /** [height, width, channels] for image data, else null. */
  imageShape: readonly [number, number, number] | null;
  /** Most rows one request may carry. */
  maxInstances: number;
}

/** The shapes a row may have: flat, the image shape, and the image without its channel axis when it has one channel. */
export function acceptedShapes(schema: InstanceSchema): number[][] {
  const shapes: number[][] = [[schema.featureCount]];
  if (schema.imageShape !== null) {
    shapes.push([...schema.imageShape]);
    if (schema.imageShape[2] === 1) shapes.push([schema.imageShape[0], schema.imageShape[1]]);
  }
  return shapes;
}

const describeShapes = (shapes: number[][]): string => shapes.map((s) => `[${s.join(', ')}]`).join(' or ');

/** A value as a short JSON text for an error message (an echoed body stays short). */
function brief(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/** `instances[i][j]...` for the indices of a value (built only for an error message). */
const pathOf = (indices: readonly number[]): string => `instances${indices.map((i) => `[${i}]`).join('')}`;

/**
 * Copies the nested array `value` of shape `shape` into `out` at `offset`,
 * checking every length and value; `indices` is the value's position (its
 * path is spelled out only when a check fails: per value it would cost more
 * than the copy).
 */
function fill(value: unknown, shape: number[], depth: number, out: Float32Array, offset: number, indices: number[]): number {
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw new InstancesError('bad-shape', `${pathOf(indices)}: expected an array of ${shape[depth]}, got ${Array.isArray(value) ? `an array of ${value.length}` : brief(value)}`);
  }
  if (depth === shape.length - 1) {
    // The innermost level: numbers, copied in one loop.
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InstancesError('not-finite', `${pathOf([...indices, i])}: not a finite number (${brief(v)})`);
      out[offset + i] = v;
    }
    return offset + value.length;
  }
  let at = offset;
  for (let i = 0; i < value.length; i++) {
    indices.push(i);
    at = fill(value[i], shape, depth + 1, out, at, indices);
    indices.pop();
  }
  return at;
}

/**
 * Parses and checks a request body (a JSON text, or its UTF-8 bytes).
 * Throws InstancesError. The common body, exactly `{"instances": [...]}`
 * with valid rows, is read by ./instances-scanner.ts straight from the
 * bytes; anything else goes through JSON.parse and the checks below, which
 * alone decide every error.
 */
export function parseInstances(bodyText: string | Uint8Array, schema: InstanceSchema): { rows: Float32Array; count: number } {
  const shapes = acceptedShapes(schema);
  const bytes = typeof bodyText === 'string' ? Buffer.from(bodyText, 'utf8') : bodyText;
  const scanned = scanInstances(bytes, schema, shapes);
  if (scanned !== null) return scanned;
  return parseInstancesJson(typeof bodyText === 'string' ? bodyText : Buffer.from(bodyText.buffer, bodyText.byteOffset, bodyText.byteLength).toString('utf8'), schema);
}

/** parseInstances through JSON.parse alone (the reference the fast path must agree with). Throws InstancesError. */
export function parseInstancesJson(text: string, schema: InstanceSchema): { rows: Float32Array; count: number } {
  const shapes = acceptedShapes(schema);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new InstancesError('bad-json', `the body is not JSON (${(err as Error).message})`);
  }
  const instances = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { instances?: unknown }).instances : undefined;
  if (!Array.isArray(instances)) throw new InstancesError('no-instances', 'expected {"instances": [row, ...]} (TensorFlow Serving row format)');
  if (instances.length === 0) throw new InstancesError('no-instances', 'instances is empty: send at least one row');
  if (instances.length > schema.maxInstances) throw new InstancesError('too-many-instances', `${instances.length} instances in one request; at most ${schema.maxInstances}`);
  const rows = new Float32Array(instances.length * schema.featureCount);
  instances.forEach((instance, i) => {
    const given = shapeOf(instance);
    const shape = shapes.find((s) => s.length === given.length) ?? shapes[0]!;
    if (!shapes.some((s) => s.length === given.length)) {
      throw new InstancesError('bad-shape', `instances[${i}]: expected an array of shape ${describeShapes(shapes)}, got ${given.length === 0 ? brief(instance) : `${given.length} nested levels`}`);
    }
    fill(instance, shape, 0, rows, i * schema.featureCount, [i]);
  });
  return { rows, count: instances.length };
}
