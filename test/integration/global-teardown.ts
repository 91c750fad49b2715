/**
 * Jest globalTeardown: stops the services the global setup started (services that were already
 * running are left alone), Kafka in whichever mode a test file left it. LOCAL_SERVICES_KEEP=1
 * leaves everything running for debugging.
 */
import { teardownForTests } from '../../scripts/local/local-services';

export default async function globalTeardown(): Promise<void> {
  await teardownForTests();
}
