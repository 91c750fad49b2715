export * from './schema';
export * from './validate';
export { environments, dev, staging, prod } from './environments';
