/**
 * @grafana/grafana-foundation-sdk publishes its entry points only through package.json
 * `exports`, which this repo's `moduleResolution: node` does not read (Node's `require` does).
 * Map the entry points the dashboards use to their type files.
 */
declare module '@grafana/grafana-foundation-sdk/cloudwatch' {
  export * from '@grafana/grafana-foundation-sdk/dist/cloudwatch';
}
declare module '@grafana/grafana-foundation-sdk/common' {
  export * from '@grafana/grafana-foundation-sdk/dist/common';
}
declare module '@grafana/grafana-foundation-sdk/dashboard' {
  export * from '@grafana/grafana-foundation-sdk/dist/dashboard';
}
declare module '@grafana/grafana-foundation-sdk/prometheus' {
  export * from '@grafana/grafana-foundation-sdk/dist/prometheus';
}
declare module '@grafana/grafana-foundation-sdk/stat' {
  export * from '@grafana/grafana-foundation-sdk/dist/stat';
}
declare module '@grafana/grafana-foundation-sdk/timeseries' {
  export * from '@grafana/grafana-foundation-sdk/dist/timeseries';
}
