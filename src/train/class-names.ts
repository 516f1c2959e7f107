/**
 * The class names of a data source: what output i of a model trained on it
 * means. The one place /predict (`className`) and model export
 * (`userDefinedMetadata.classes`) read them from.
 *
 *   classNamesOf({ name: 'fashion-mnist', numClasses: 10 })   // ['T-shirt/top', 'Trouser', ...]
 *   classNamesOf({ name: 'csv:data.csv', numClasses: 3, classNames: ['cat', 'dog', 'fish'] })   // ['cat', 'dog', 'fish']
 *   classNamesOf({ name: 'csv:data.csv', numClasses: 3 })      // null: not known here
 *
 * A dataset's declared names come first: `--classes A,B,C` (any source),
 * an image folder's subfolder names (src/train/data/images.ts), a library
 * caller's `classes`. Else the built-in image sets name theirs.
 */

/** Fashion-MNIST's labels 0..9 (Xiao, Rasul and Vollgraf 2017, the dataset's README). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
/** MNIST's labels are the digits themselves. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Class names by label index, or null when the data source does not name its classes (a copy: safe to keep). */
export function classNamesOf(dataset: { name: string; numClasses: number; classNames?: readonly string[] }): string[] | null {
  if (dataset.classNames !== undefined && dataset.classNames.length === dataset.numClasses) return [...dataset.classNames];
  const known = dataset.name === 'fashion-mnist' ? FASHION_MNIST_CLASSES : dataset.name === 'mnist' ? MNIST_CLASSES : null;
  return known !== null && known.length === dataset.numClasses ? [...known] : null;
}
