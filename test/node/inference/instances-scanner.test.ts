import { strict as assert } from 'node:assert';
import { scanInstances } from '../../../src/node/inference/instances-scanner.ts';
import { acceptedShapes, InstancesError, parseInstances, parseInstancesJson, type InstanceSchema } from '../../../src/node/inference/instances.ts';
import { createRandom, randomInt, type Random } from '../../../src/train/random.ts';

const image: InstanceSchema = { featureCount: 6, imageShape: [2, 3, 1], maxInstances: 3 };
const table: InstanceSchema = { featureCount: 3, imageShape: null, maxInstances: 4 };

const scan = (body: string, schema: InstanceSchema): ReturnType<typeof scanInstances> => scanInstances(Buffer.from(body), schema, acceptedShapes(schema));

/** The JSON.parse path's answer, or its error. */
function reference(body: string, schema: InstanceSchema): { rows: Float32Array; count: number } | InstancesError {
  try {
    return parseInstancesJson(body, schema);
  } catch (err) {
    if (err instanceof InstancesError) return err;
    throw err;
  }
}

/** Same count and the same float32 bits (so -0 and 0 differ). */
function assertSameRows(got: { rows: Float32Array; count: number }, want: { rows: Float32Array; count: number }, body: string): void {
  assert.equal(got.count, want.count, body);
  assert.deepEqual(new Uint32Array(got.rows.buffer, got.rows.byteOffset, got.rows.length), new Uint32Array(want.rows.buffer, want.rows.byteOffset, want.rows.length), body);
}

/** A JSON number text of some kind: float32 values as clients write them, long or short decimals, exponents, midpoints between float32 values. */
function numberText(random: Random): string {
  const kind = randomInt(random, 7);
  const sign = random() < 0.3 ? '-' : '';
  if (kind === 0) return '0';
  if (kind === 1) return JSON.stringify(Math.fround((random() - 0.5) * 10 ** randomInt(random, 12)));
  if (kind === 2) return JSON.stringify(Math.fround(random()));
  if (kind === 3) {
    // Many digits: past the exact 15, past 19 (ignored), with a fraction.
    let digits = String(1 + randomInt(random, 9));
    for (let i = randomInt(random, 30); i > 0; i--) digits += String(randomInt(random, 10));
    const point = randomInt(random, digits.length);
    return `${sign}${point === 0 ? '0' : digits.slice(0, point)}.${digits.slice(point)}`;
  }
  if (kind === 4) return `${sign}${randomInt(random, 1000)}${random() < 0.5 ? 'e' : 'E'}${['', '+', '-'][randomInt(random, 3)]}${randomInt(random, 45)}`;
  if (kind === 5) {
    // Halfway between two neighbouring float32 values (exact as a double), and a hair either side.
    const f = Math.fround(random() * 2 ** (randomInt(random, 40) - 20));
    const next = new Float32Array(new Uint32Array([new Uint32Array(Float32Array.of(f).buffer)[0]! + 1]).buffer)[0]!;
    const mid = (f + next) / 2;
    const digits = 17 + randomInt(random, 8);
    return sign + [mid.toPrecision(digits), (mid * (1 + 2 ** -50)).toPrecision(digits), (mid * (1 - 2 ** -50)).toPrecision(digits)][randomInt(random, 3)]!;
  }
  return `${sign}0.${'0'.repeat(randomInt(random, 30))}${1 + randomInt(random, 9)}${randomInt(random, 1000)}`;
}

function row(random: Random, n: number): string {
  return `[${Array.from({ length: n }, () => numberText(random)).join(random() < 0.2 ? ' , ' : ',')}]`;
}

describe('scanInstances (the fast path of parseInstances)', () => {
  it('reads the common body, flat or image rows, with any JSON whitespace', () => {
    const flat = scan('{"instances": [[1, 2.5, -3e2], [0, -0, 0.1]]}', table);
    assert.ok(flat !== null);
    assertSameRows(flat, parseInstancesJson('{"instances": [[1, 2.5, -3e2], [0, -0, 0.1]]}', table), 'flat');
    const body = ' {\n\t"instances" :[ [[[1],[2],[3]],[[4],[5],[6]]] , [[0.5,0,0],[0,0,-1]], [1,2,3,4,5,6] ] }\r\n';
    const images = scan(body, image);
    assert.ok(images !== null);
    assertSameRows(images, parseInstancesJson(body, image), body);
  });

  it('leaves everything else to JSON.parse: other keys, non-numbers, escapes, bad JSON, wrong shapes, too many rows', () => {
    for (const body of [
      '{"instances": [[1, 2, 3]], "signature_name": "x"}',
      '{"\\u0069nstances": [[1, 2, 3]]}',
      '{"instances": [[1, null, 3]]}',
      '{"instances": [[1, "2", 3]]}',
      '{"instances": [[1, 2, 1e999]]}',
      '{"instances": [[01, 2, 3]]}',
      '{"instances": [[1., 2, 3]]}',
      '{"instances": [[.5, 2, 3]]}',
      '{"instances": [[+1, 2, 3]]}',
      '{"instances": [[1, 2, 3]]} x',
      '{"instances": [[1, 2]]}',
      '{"instances": [[1, 2, 3, 4]]}',
      '{"instances": [[[1, 2, 3]]]}',
      '{"instances": [[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]}',
      '{"instances": []}',
      '{"instances": [[1, 2, 3],]}',
      '\ufeff{"instances": [[1, 2, 3]]}',
    ]) {
      assert.equal(scan(body, table), null, body);
    }
  });

  it('agrees with the JSON.parse path bit for bit on random numbers, midpoints between float32 values included (seeded)', () => {
    const random = createRandom(18);
    let scanned = 0;
    for (let i = 0; i < 3000; i++) {
      const body = `{"instances": [${Array.from({ length: 1 + randomInt(random, 3) }, () => row(random, 3)).join(',')}]}`;
      const want = reference(body, table);
      const got = scan(body, table);
      if (got === null) continue;
      scanned++;
      assert.ok(!(want instanceof InstancesError), `the fast path took ${body}, which the checks refuse: ${String(want)}`);
      assertSameRows(got, want, body);
    }
    // Only numbers beyond the doubles (1e999) leave the fast path here.
    assert.ok(scanned > 2700, `scanned ${scanned}`);
  });

  it('never accepts what the checks refuse, nor reads it differently: one byte changed, removed or added (seeded)', () => {
    const random = createRandom(7);
    const alphabet = '0123456789-+.eE,[]{}": \tnull"x\\';
    for (let i = 0; i < 4000; i++) {
      let body = `{"instances": [${row(random, 3)}, ${row(random, 3)}]}`;
      const at = randomInt(random, body.length);
      const byte = alphabet[randomInt(random, alphabet.length)]!;
      const edit = randomInt(random, 3);
      body = edit === 0 ? body.slice(0, at) + byte + body.slice(at + 1) : edit === 1 ? body.slice(0, at) + body.slice(at + 1) : body.slice(0, at) + byte + body.slice(at);
      const got = scan(body, table);
      if (got === null) continue;
      const want = reference(body, table);
      assert.ok(!(want instanceof InstancesError), `the fast path took ${body}, which the checks refuse: ${String(want)}`);
      assertSameRows(got, want, body);
    }
  });

  it('parseInstances gives the JSON.parse path\'s errors for bodies the fast path leaves, from text or bytes', () => {
    const body = '{"instances": [[1, null, 3]]}';
    for (const input of [body, Buffer.from(body)]) {
      assert.throws(() => parseInstances(input, table), (err: unknown) => err instanceof InstancesError && err.reason === 'not-finite' && err.message === 'instances[0][1]: not a finite number (null)');
    }
  });
});
