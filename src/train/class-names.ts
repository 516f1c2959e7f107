/**
 * The class names of a data source: what output i of a model trained on it
 * means. The one place /predict (`className`) and model export
 * (`userDefinedMetadata.classes`) read them from.
 *
 *   classNamesOf({ name: 'fashion-mnist', numClasses: 10 })   // ['T-shirt/top', 'Trouser', ...]
 *   classNamesOf({ name: 'csv:data.csv', numClasses: 3 })      // null: not known here
 *
 * Today only the built-in image sets name their classes; a swarm data schema
 * with its own names (`--classes A,B,C`) plugs in here.
 */

/** Fashion-MNIST's labels 0..9 (Xiao, Rasul and Vollgraf 2017, the dataset's README). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
/** MNIST's labels are the digits themselves. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Class names by label index, or null when the data source does not name its classes. */
export function classNamesOf(dataset: { name: string; numClasses: number }): string[] | null {
  const known = dataset.name === 'fashion-mnist' ? FASHION_MNIST_CLASSES : dataset.name === 'mnist' ? MNIST_CLASSES : null;
  return known !== null && known.length === dataset.numClasses ? [...known] : null;
}
