/**
 * The base of every gossip-learn error that carries a reason code.
 *
 * Callers branch on `reason` (a short, stable kebab-case string such as
 * 'bad-magic' or 'held'), never on the message text, and tell the error
 * classes apart by `name`. Both are contracts: tests, metrics (rejection
 * reasons) and the CLI (which errors become a one-line message and exit
 * code 2) rely on them, so reasons are added, never renamed.
 *
 *   export type IdentityErrorReason = 'unreadable' | 'corrupt';
 *   export class IdentityError extends GossipLearnError<IdentityErrorReason> {
 *     override readonly name = 'IdentityError';
 *   }
 *   throw new IdentityError('corrupt', `identity file ${path} is corrupt`);
 *
 *   if (err instanceof GossipLearnError) log({ error: err.name, reason: err.reason });
 *
 * Every subclass names itself with a string literal (not `constructor.name`,
 * which bundlers and minifiers may change); the message is passed through
 * unchanged, so a subclass that wants the reason in the message (ProtocolError)
 * builds that message itself.
 */
export abstract class GossipLearnError<Reason extends string = string> extends Error {
  abstract override readonly name: string;
  readonly reason: Reason;

  constructor(reason: Reason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
