export * from './telemetry';
export * from './tables';
export * from './topics';
export * from './lake';
export * from './apps';
