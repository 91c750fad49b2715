export * from './telemetry';
export * from './versions';
export * from './compatibility';
export * from './tables';
export * from './topics';
export * from './lake';
export * from './apps';
