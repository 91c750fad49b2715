/**
 * Jest globalSetup for the integration project: installs (cached), starts and provisions the
 * local services once per run, and exports their endpoints as the apps' env vars to the workers.
 */
import { setupForTests } from '../../scripts/local/local-services';

export default async function globalSetup(): Promise<void> {
  await setupForTests();
}
