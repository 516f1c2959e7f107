/**
 * Error feedback: keeps what a lossy codec dropped and adds it to the next
 * update, so nothing is lost for good (Seide et al. 2014; Karimireddy et al.
 * 2019, EF-SGD). Identity, over T updates u_1..u_T:
 *
 *   sum_t decoded_t == sum_t u_t - residual_T
 *
 * exactly in real arithmetic; here up to float rounding. The residual is
 * kept in float64 so that identity stays tight over many updates (the
 * codec itself sees float32).
 *
 *   const feedback = new ErrorFeedback(createCodec('topk:0.01+q4'), params.length);
 *   const { bytes, decoded } = feedback.encode(delta, { random }); // send bytes; decoded is what the peer will see
 *
 * (The session's CHOCO replica scheme gets the same effect from x - replica;
 * this class is for senders that transmit plain updates.)
 */
import type { Codec } from './codec/index.ts';
import { ProtocolError } from './errors.ts';

export class ErrorFeedback {
  readonly codec: Codec;
  readonly paramCount: number;
  private readonly residualValues: Float64Array;
  private readonly corrected: Float32Array;

  constructor(codec: Codec, paramCount: number) {
    if (!Number.isSafeInteger(paramCount) || paramCount < 0) {
      throw new ProtocolError('wrong-param-count', `parameter count ${paramCount} is not a non-negative integer`);
    }
    this.codec = codec;
    this.paramCount = paramCount;
    this.residualValues = new Float64Array(paramCount);
    this.corrected = new Float32Array(paramCount);
  }

  /** What has been dropped so far and not yet sent (read-only view; copy it to keep it). */
  get residual(): Readonly<Float64Array> {
    return this.residualValues;
  }

  /**
   * Encodes update + residual; the new residual is (update + residual) - decoded.
   * Returns the bytes to send and the values the receiver will decode from them.
   */
  encode(update: Float32Array, options: { random?: () => number } = {}): { bytes: Uint8Array; decoded: Float32Array } {
    if (update.length !== this.paramCount) {
      throw new ProtocolError('wrong-param-count', `update has ${update.length} values, expected ${this.paramCount}`);
    }
    const residual = this.residualValues;
    const corrected = this.corrected;
    for (let i = 0; i < update.length; i++) corrected[i] = update[i]! + residual[i]!;
    const bytes = this.codec.encode(corrected, options);
    const decoded = this.codec.decode(bytes, this.paramCount);
    // residual_t = (u_t + residual_{t-1}) - decoded_t, computed in float64 from the exact inputs
    // (not from the float32 `corrected`), so the identity holds to float64 rounding.
    for (let i = 0; i < update.length; i++) residual[i] = update[i]! + residual[i]! - decoded[i]!;
    return { bytes, decoded };
  }

  /** Forgets the residual (e.g. after a snapshot reset the pair). */
  reset(): void {
    this.residualValues.fill(0);
  }
}
