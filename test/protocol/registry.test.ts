import assert from 'node:assert/strict';
import { checkCodecSpec, CODEC_SPEC_SYNTAX, codecSpecProblem, createCodec, DEFAULT_CODEC_SPEC, isCodecSpec } from '../../src/protocol/codec/index.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';

describe('codec spec registry', () => {
  it('accepts the contract spec strings', () => {
    for (const spec of ['f32', 'f16', 'q8', 'q4', 'q2', 'q1', 'q4:256', 'q8:1', 'topk:0.01+q4+deflate', 'topk:1000+q8', 'topk:1.0+f16', 'topk:.5+q2+brotli', 'f32+deflate', DEFAULT_CODEC_SPEC]) {
      assert.equal(createCodec(spec).spec, spec);
      assert.ok(isCodecSpec(spec));
    }
  });

  it('rejects malformed specs with unknown-codec', () => {
    const bad = [
      '', 'F32', 'f64', 'q3', 'q4:0', 'q4:-1', 'q4:abc', 'q4:1e3', 'q4:99999999', 'q4:', 'f32:1', 'deflate', 'topk:0.01',
      'topk:0+q4', 'topk:1.5+q4', 'topk:-1+q4', 'topk:1e-2+q4', 'topk:+q4', 'topk:0.01+topk:0.1+q4', 'q4+topk:0.01',
      'q4+q8', 'q4+deflate+brotli', 'deflate+q4', 'q4+', '+q4', 'q4++deflate', ' q4', 'q4 ', 'constructor', '__proto__',
      'toString', 'q4:256:1', 'x'.repeat(65), 'topk:0.01+q4+deflate:9',
    ];
    for (const spec of bad) {
      assert.throws(() => createCodec(spec), (e: unknown) => e instanceof ProtocolError && e.reason === 'unknown-codec', JSON.stringify(spec));
      assert.equal(isCodecSpec(spec), false);
      assert.match(codecSpecProblem(spec)!, /; a spec is \[topk:/, JSON.stringify(spec));
    }
  });

  it('says what is wrong with a spec in words, with the valid stages, for a flag', () => {
    assert.equal(codecSpecProblem(DEFAULT_CODEC_SPEC), null);
    assert.doesNotThrow(() => checkCodecSpec('q8+deflate'));
    assert.equal(codecSpecProblem('q9'), `codec spec "q9": unknown stage "q9"; a spec is ${CODEC_SPEC_SYNTAX}`);
    assert.equal(codecSpecProblem('q8+deflat'), `codec spec "q8+deflat": unknown stage "deflat" (did you mean deflate?); a spec is ${CODEC_SPEC_SYNTAX}`);
    assert.equal(codecSpecProblem('q4+q8'), `codec spec "q4+q8": unexpected stage "q8"; a spec is ${CODEC_SPEC_SYNTAX}`);
    assert.throws(() => checkCodecSpec('q9'), { name: 'Error', message: `codec spec "q9": unknown stage "q9"; a spec is ${CODEC_SPEC_SYNTAX}` });
    // The wire keeps its reason code (metrics count rejections by it); the message carries no code in front.
    assert.throws(() => createCodec('q9'), (e: unknown) => e instanceof ProtocolError && e.reason === 'unknown-codec' && e.message.includes('unknown stage "q9"'));
  });
});
