import { strict as assert } from 'node:assert';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { readChunkedFrame, writeChunkedFrame, type LengthPrefixedChannel } from '../../src/node/frame-stream.ts';

/** An in-memory length-prefixed channel: writes queue up, reads take them in order. */
function memoryChannel(): LengthPrefixedChannel & { messages: Uint8Array[] } {
  const messages: Uint8Array[] = [];
  return {
    messages,
    async write(data) {
      messages.push(data.slice());
    },
    async read(options) {
      const next = messages.shift();
      if (next !== undefined) return { subarray: () => next };
      // Nothing will arrive: wait for the abort like a stalled stream.
      return new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason)));
    },
  };
}

describe('chunked frames', () => {
  it('cuts a frame into chunks of the given size and reassembles it', async () => {
    const channel = memoryChannel();
    const frame = new Uint8Array(1000);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 31) & 0xff;
    await writeChunkedFrame(channel, frame, { chunkBytes: 300 });
    assert.deepEqual(channel.messages.map((m) => [m[0], m.length]), [[1, 301], [1, 301], [1, 301], [0, 101]]);
    assert.deepEqual(await readChunkedFrame(channel, { maxFrameBytes: 1000, readTimeoutMs: 1000 }), frame);
  });

  it('sends an empty frame as one last chunk', async () => {
    const channel = memoryChannel();
    await writeChunkedFrame(channel, new Uint8Array(0));
    assert.deepEqual(await readChunkedFrame(channel, { maxFrameBytes: 10, readTimeoutMs: 1000 }), new Uint8Array(0));
  });

  it('stops reading with too-large as soon as the chunks pass the maximum', async () => {
    const channel = memoryChannel();
    await writeChunkedFrame(channel, new Uint8Array(1000), { chunkBytes: 300 });
    await assert.rejects(readChunkedFrame(channel, { maxFrameBytes: 500, readTimeoutMs: 1000 }), (e: unknown) => e instanceof ProtocolError && e.reason === 'too-large');
    // The third and fourth chunks were never read.
    assert.equal(channel.messages.length, 2);
  });

  it('rejects a bad flag or an empty chunk with bad-payload', async () => {
    const channel = memoryChannel();
    channel.messages.push(Uint8Array.of(2, 1, 2));
    await assert.rejects(readChunkedFrame(channel, { maxFrameBytes: 10, readTimeoutMs: 1000 }), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-payload');
    channel.messages.push(new Uint8Array(0));
    await assert.rejects(readChunkedFrame(channel, { maxFrameBytes: 10, readTimeoutMs: 1000 }), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-payload');
  });

  it('gives up a stalled read after the read timeout', async () => {
    const channel = memoryChannel();
    channel.messages.push(Uint8Array.of(1, 5));
    await assert.rejects(readChunkedFrame(channel, { maxFrameBytes: 10, readTimeoutMs: 20 }), (e: unknown) => e instanceof Error && e.name === 'TimeoutError');
  });
});
