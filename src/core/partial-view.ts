/**
 * A bounded partial view of the swarm, refreshed by gossip: CYCLON
 * (Voulgaris, Gavidia and van Steen, "CYCLON: Inexpensive Membership
 * Management for Unstructured P2P Overlays", J. Network and Systems
 * Management 13(2), 2005). A node in a large swarm knows only `size` peers;
 * the peer sampler (peer-sampler.ts) picks exchange partners among them.
 * Every shuffle period a node ages its entries by one, takes the OLDEST
 * entry Q out of its view, and sends Q `shuffleLength - 1` other random
 * entries plus a fresh entry for itself (age 0). Q answers with up to
 * `shuffleLength` random entries of its own view and merges the offer; the
 * caller merges the answer. Merging skips entries for itself and peers
 * already in view, fills empty slots first, then replaces the entries it
 * sent. Dead peers leave views by themselves: the oldest entry is the one
 * shuffled with, and a shuffle with a peer that does not answer leaves it
 * out. Pure: randomness is passed in.
 *
 *   const view = new PartialView({ self: 'node-3', size: 16, shuffleLength: 4, random });
 *   view.add(bootstrapIds);
 *   const shuffle = view.startShuffle();                 // null when the view is empty
 *   const answer = peerView.answerShuffle('node-3', shuffle.offer);
 *   view.completeShuffle(shuffle.offer, answer);          // or nothing: the target did not answer
 *   sampler.choose(view.ids());
 */

export interface ViewEntry {
  id: string;
  /** Shuffle periods since the entry was created by its peer. */
  age: number;
}

export interface PartialViewOptions {
  self: string;
  /** Entries kept (integer >= 1). */
  size: number;
  /** Entries exchanged per shuffle (integer, 1..size). */
  shuffleLength: number;
  /** Uniform [0, 1) source. */
  random: () => number;
}

export class PartialView {
  readonly self: string;
  readonly size: number;
  readonly shuffleLength: number;
  private readonly random: () => number;
  private entries: ViewEntry[] = [];

  /** Throws RangeError for a size or shuffle length outside the documented ranges. */
  constructor(options: PartialViewOptions) {
    if (!Number.isSafeInteger(options.size) || options.size < 1) throw new RangeError(`view size must be an integer >= 1, got ${options.size}`);
    if (!Number.isSafeInteger(options.shuffleLength) || options.shuffleLength < 1 || options.shuffleLength > options.size) {
      throw new RangeError(`shuffle length must be an integer in 1..${options.size} (the view size), got ${options.shuffleLength}`);
    }
    this.self = options.self;
    this.size = options.size;
    this.shuffleLength = options.shuffleLength;
    this.random = options.random;
  }

  /** Peer ids in the view (a copy). */
  ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  get length(): number {
    return this.entries.length;
  }

  /** Adds peers (age 0) while there is room: bootstrap. Skips itself and peers already known. */
  add(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.entries.length >= this.size) return;
      if (id !== this.self && !this.has(id)) this.entries.push({ id, age: 0 });
    }
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id);
  }

  /** Forgets a peer (e.g. known to be gone). */
  remove(id: string): void {
    this.entries = this.entries.filter((e) => e.id !== id);
  }

  /**
   * Starts a shuffle: ages every entry, removes the oldest (the target) and
   * returns it with the offer to send it (ourselves at age 0, then up to
   * shuffleLength - 1 random other entries, copies). Null when the view is empty.
   */
  startShuffle(): { target: string; offer: ViewEntry[] } | null {
    if (this.entries.length === 0) return null;
    for (const e of this.entries) e.age += 1;
    let oldest = 0;
    for (let i = 1; i < this.entries.length; i++) if (this.entries[i]!.age > this.entries[oldest]!.age) oldest = i;
    const target = this.entries[oldest]!.id;
    this.entries.splice(oldest, 1);
    const offer = [{ id: this.self, age: 0 }, ...this.sample(this.shuffleLength - 1)];
    return { target, offer };
  }

  /** The passive side of a shuffle from `from`: returns up to shuffleLength random entries (copies), then merges the offer. */
  answerShuffle(from: string, offer: readonly ViewEntry[]): ViewEntry[] {
    const answer = this.sample(this.shuffleLength).filter((e) => e.id !== from);
    this.merge(offer, answer);
    return answer;
  }

  /** The active side got `answer` to its `offer`: merges it. */
  completeShuffle(offer: readonly ViewEntry[], answer: readonly ViewEntry[]): void {
    this.merge(answer, offer);
  }

  /** Up to `count` distinct random entries (copies). */
  private sample(count: number): ViewEntry[] {
    const pool = this.entries.slice();
    const out: ViewEntry[] = [];
    while (out.length < count && pool.length > 0) {
      const i = Math.floor(this.random() * pool.length);
      out.push({ ...pool[i]! });
      pool.splice(i, 1);
    }
    return out;
  }

  /** CYCLON's merge: skip self and known peers, fill empty slots, then replace entries we `sent`. */
  private merge(received: readonly ViewEntry[], sent: readonly ViewEntry[]): void {
    const replaceable = sent.map((e) => e.id).filter((id) => id !== this.self);
    for (const entry of received) {
      if (entry.id === this.self || this.has(entry.id)) continue;
      if (this.entries.length < this.size) {
        this.entries.push({ ...entry });
        continue;
      }
      while (replaceable.length > 0) {
        const id = replaceable.shift()!;
        const at = this.entries.findIndex((e) => e.id === id);
        if (at >= 0) {
          this.entries[at] = { ...entry };
          break;
        }
      }
    }
  }
}
