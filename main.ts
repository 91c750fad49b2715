/**
 * The cdktf app: one stack per environment (ids `dev`, `staging`, `prod`).
 * Config is validated before anything is constructed, so a bad value fails synth with a
 * message naming the environment and the field.
 */
import { App } from 'cdktf';
import { environments, validateEnvironments } from './config';
import { PlatformStack } from './stacks/platform-stack';

export function buildApp(app: App = new App()): App {
  for (const config of validateEnvironments(environments)) {
    new PlatformStack(app, { config });
  }
  return app;
}

if (require.main === module) {
  try {
    buildApp().synth();
  } catch (err) {
    if (err instanceof Error && err.name === 'ConfigError') {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
