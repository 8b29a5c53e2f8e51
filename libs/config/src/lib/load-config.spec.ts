import { Config, ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('should apply the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/tracetune');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.TRACETUNE_BACKEND).toBe('auto');
    expect(config.TRACETUNE_ADMIN_KEY).toBeUndefined();
  });

  it('should coerce numbers and treat empty strings as unset', () => {
    const config = loadConfig({ PORT: '9090', LOG_LEVEL: '' });
    expect(config.PORT).toBe(9090);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('should list every problem with the variable, its value and how to fix it', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', TRACETUNE_BACKEND: 'tpu' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toHaveLength(3);
    expect(message).toContain('PORT="eighty"');
    expect(message).toContain('DATABASE_URL="mysql://x": must be a postgresql:// URL');
    expect(message).toMatch(/TRACETUNE_BACKEND="tpu": .*auto/);
    expect(message).toContain('.env.example');
  });

  it('should reject an admin key that does not look like a Tracetune key', () => {
    expect(() => loadConfig({ TRACETUNE_ADMIN_KEY: 'secret' })).toThrow(/TRACETUNE_ADMIN_KEY/);
  });
});

describe('Config', () => {
  it('should return typed values and be immutable', () => {
    const config = new Config(loadConfig({ PORT: '1234' }));
    expect(config.get('PORT')).toBe(1234);
    expect(() => {
      (config as unknown as { values: { PORT: number } }).values.PORT = 1;
    }).toThrow();
  });
});
