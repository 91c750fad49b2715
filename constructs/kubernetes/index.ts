/** Kubernetes building blocks shared by the add-ons, StreamApp and TopicJob. */
export * from './custom-resources';
export * from './helm-values';
export * from './namespace';
export * from './pod-identity';
