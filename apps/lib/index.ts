/** Convenience barrel. Entry points should deep-import (`../lib/kafka`) so an app never loads drivers it does not use. */
export * from './config';
export * from './logger';
export * from './metrics';
export * from './http';
export * from './kafka';
export * from './cassandra';
export * from './s3';
export * from './consumer';
export * from './shutdown';
export * from './app';
export * from './commits';
export * from './dead-letter';
export * from './flow-control';
export * from './records';
export * from './retry';
