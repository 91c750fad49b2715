import { ConfigError, EnvironmentConfigInput, validateEnvironment } from '../../config';

/** What validation refuses in `input`, as `<path>: <message>` lines; [] when it is valid. */
export function configIssues(input: EnvironmentConfigInput): string[] {
  try {
    validateEnvironment(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}
