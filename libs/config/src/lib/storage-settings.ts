import type { Config } from './load-config';

/**
 * The artifact store's settings in the shape libs/storage's `createArtifactStore` takes (libs/storage depends on no
 * other library, so the apps hand these over).
 */
export function artifactStoreSettings(config: Config) {
  return {
    storage: config.get('TRACETUNE_STORAGE'),
    dataDir: config.get('TRACETUNE_DATA_DIR'),
    s3: {
      endpoint: config.get('AWS_ENDPOINT_URL'),
      region: config.get('AWS_REGION'),
      accessKeyId: config.get('AWS_ACCESS_KEY_ID'),
      secretAccessKey: config.get('AWS_SECRET_ACCESS_KEY'),
      sessionToken: config.get('AWS_SESSION_TOKEN'),
      forcePathStyle: config.get('TRACETUNE_S3_FORCE_PATH_STYLE'),
    },
  };
}
