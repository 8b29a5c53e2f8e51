import { envSchema, type AppConfig } from './env.schema';

/** Thrown at boot when the environment is invalid; its message lists every problem and how to fix it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet the variables in the environment or in .env (see .env.example for every variable and its default).',
    );
    this.name = 'ConfigError';
  }
}

/** Validates an environment once and returns the typed configuration. Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        return `${name}=${JSON.stringify(present[name] ?? '')}: ${issue.message}`;
      }),
    );
  }
  const values = parsed.data;
  return { ...values, INFERENCE_URL: values.INFERENCE_URL ?? `http://127.0.0.1:${values.INFERENCE_PORT}` };
}

/**
 * `TRACETUNE_BACKEND` when it is set (validated like the rest of the environment), else null: for the CLI, whose
 * default backend (wasm) is not the services' (auto), so it must know whether the variable was set at all.
 */
export function backendFromEnvironment(): AppConfig['TRACETUNE_BACKEND'] | null {
  const raw = process.env['TRACETUNE_BACKEND'];
  return raw ? loadConfig({ TRACETUNE_BACKEND: raw }).TRACETUNE_BACKEND : null;
}

/** Typed read-only access to the validated configuration. */
export class Config {
  private readonly values: Readonly<AppConfig>;

  constructor(values: AppConfig) {
    this.values = Object.freeze({ ...values });
  }

  /** Reads the process environment: the one place in Tracetune that does. */
  static fromProcessEnv(): Config {
    return new Config(loadConfig(process.env));
  }

  get<K extends keyof AppConfig>(key: K): AppConfig[K] {
    return this.values[key];
  }
}
