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

describe('artifact storage and metrics settings', () => {
  it('should accept local or an s3:// URL and read flags as booleans', () => {
    expect(loadConfig({}).TRACETUNE_STORAGE).toBe('local');
    const s3 = loadConfig({
      TRACETUNE_STORAGE: 's3://my-bucket/tracetune/prod',
      TRACETUNE_S3_FORCE_PATH_STYLE: 'false',
    });
    expect(s3.TRACETUNE_STORAGE).toBe('s3://my-bucket/tracetune/prod');
    expect(s3.TRACETUNE_S3_FORCE_PATH_STYLE).toBe(false);
    expect(loadConfig({ TRACETUNE_S3_FORCE_PATH_STYLE: 'true' }).TRACETUNE_S3_FORCE_PATH_STYLE).toBe(true);
  });

  it.each(['/data', 's3://', 's3://Bucket_Upper/x', 's3://bucket/../etc', 'gs://bucket'])(
    'should refuse TRACETUNE_STORAGE=%j naming the variable',
    (value) => {
      expect(() => loadConfig({ TRACETUNE_STORAGE: value })).toThrow(/TRACETUNE_STORAGE=/);
    },
  );

  it('should refuse a short metrics token and a non-boolean flag', () => {
    expect(() => loadConfig({ TRACETUNE_METRICS_TOKEN: 'short' })).toThrow(/TRACETUNE_METRICS_TOKEN=/);
    expect(() => loadConfig({ TRACETUNE_S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(
      /TRACETUNE_S3_FORCE_PATH_STYLE=/,
    );
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

  it('should derive INFERENCE_URL from INFERENCE_PORT unless it is set', () => {
    expect(loadConfig({ INFERENCE_PORT: '9181' }).INFERENCE_URL).toBe('http://127.0.0.1:9181');
    expect(loadConfig({}).INFERENCE_URL).toBe('http://127.0.0.1:8081');
    expect(loadConfig({ INFERENCE_PORT: '9181', INFERENCE_URL: 'http://inference:8081' }).INFERENCE_URL).toBe(
      'http://inference:8081',
    );
  });
});
