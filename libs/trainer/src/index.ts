export * from './lib/contract';
