/**
 * How a label becomes a class index, the same for every data source (CSV
 * files, createNode's arrays): with declared classes (--classes, in index
 * order, the same on every node) a label is a class name, or an integer
 * index below the class count (a name wins over an index); without, labels
 * are integers below MAX_UNDECLARED_CLASSES.
 *
 *   const labels = new LabelMap(['cat', 'dog']);
 *   labels.indexOf('dog')   // 1
 *   labels.indexOf('7')     // 'label '7' is not below the class count 2 (--classes cat,dog)'
 */

/** Most classes integer labels may imply without --classes (a stray 999999 must not build a million-way output layer). */
export const MAX_UNDECLARED_CLASSES = 1000;

export class LabelMap {
  readonly classes: string[] | null;
  private readonly byName: Map<string, number> | null;
  /** Largest index returned so far (-1 before any). */
  largest = -1;

  constructor(classes: string[] | null) {
    this.classes = classes;
    this.byName = classes === null ? null : new Map(classes.map((name, i) => [name, i]));
  }

  /** The class count: the declared classes, or the largest index seen + 1. */
  get numClasses(): number {
    return this.classes?.length ?? this.largest + 1;
  }

  /** The class index of `label`, or the reason it has none (one sentence, without the location). */
  indexOf(label: string): number | string {
    const index = this.lookup(label);
    if (typeof index === 'number' && index > this.largest) this.largest = index;
    return index;
  }

  private lookup(label: string): number | string {
    if (label === '') return 'empty label';
    const byName = this.byName?.get(label);
    if (byName !== undefined) return byName;
    const declared = this.classes === null ? '' : ` (--classes ${this.classes.join(',')})`;
    if (/^\d+$/.test(label)) {
      const index = Number(label);
      const count = this.classes?.length ?? MAX_UNDECLARED_CLASSES;
      if (index < count) return index;
      if (this.classes !== null) return `label '${label}' is not below the class count ${count}${declared}`;
      return `label '${label}' is not below ${MAX_UNDECLARED_CLASSES}, the most classes without --classes; declare the classes in index order with --classes NAME,NAME,...`;
    }
    if (this.classes !== null) return `label '${label}' is not one of the declared classes${declared}`;
    return `label '${label}' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes ${label},...)`;
  }
}
