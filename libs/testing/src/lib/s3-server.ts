import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3Server {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** The environment that points an app at this server, with `prefix` inside the bucket. */
  env(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

/**
 * A local S3-compatible server (s3rver, in this process, files in a temporary folder) with one empty bucket: the
 * artifact store's S3 tests and the multi-host end-to-end tests talk to it exactly as to S3 (path-style URLs, signed
 * requests with s3rver's fixed credentials).
 */
export async function startS3Server(bucket = 'tracetune-test'): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'tt-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: (prefix) => ({
      TRACETUNE_STORAGE: `s3://${bucket}/${prefix}`,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      TRACETUNE_S3_FORCE_PATH_STYLE: 'true',
    }),
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
