/**
 * The arithmetic mean of plain numbers (float64): the one `mean` of the math libraries (the trainer's metrics use it
 * too). 0 for no values, so that a metric over nothing is still a number.
 */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
}
