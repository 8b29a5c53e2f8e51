export * from './lib/api-keys';
export * from './lib/errors';
export * from './lib/ids';
export * from './lib/pagination';
export * from './lib/queues';
export * from './lib/health';
export * from './lib/fine-tune-data';
export * from './lib/files';
