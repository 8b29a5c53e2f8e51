/**
 * A named registry of pure functions (or bundles of them), in the shape of verl's `core_algos.py`
 * (`register_adv_est` / `get_adv_estimator_fn`): the trainer looks variants up by name and never branches on one.
 */
export class Registry<T> {
  private readonly entries = new Map<string, T>();

  /** @param kind what the entries are, used in error messages ("trace style", "loss aggregation", …). */
  constructor(readonly kind: string) {}

  /**
   * Registers `entry` under `name`. Registering the very same entry twice is a no-op (modules may be loaded twice);
   * registering a *different* entry under a taken name throws, because silently replacing a loss is a bug.
   */
  register(name: string, entry: T): this {
    const existing = this.entries.get(name);
    if (existing !== undefined && existing !== entry) {
      throw new Error(
        `${this.kind} '${name}' is already registered with a different implementation; ` +
          `pick another name (registered: ${this.names().join(', ')})`,
      );
    }
    this.entries.set(name, entry);
    return this;
  }

  /** Returns the entry, or throws an error that lists the known names. */
  get(name: string): T {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new Error(`unknown ${this.kind} '${name}'; known: ${this.names().join(', ')}`);
    }
    return entry;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }
}
