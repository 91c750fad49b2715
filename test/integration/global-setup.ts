/**
 * Jest globalSetup for the integration project: installs (cached), starts and provisions the
 * local services once per run, and exports their endpoints as the apps' env vars to the workers.
 *
 * Kafka runs as one node unless LOCAL_KAFKA_NODES=3. A file that needs the 3-node cluster (RF 3,
 * min ISR 2) switches in its beforeAll, `previous = await useKafkaNodes(3)`, and back in its
 * afterAll, `await useKafkaNodes(previous)`, so the next file finds Kafka as this setup left it;
 * `endpoints()` and `appEnv()` follow the switch (see test/integration/local-services.test.ts).
 */
import { setupForTests } from '../../scripts/local/local-services';

export default async function globalSetup(): Promise<void> {
  await setupForTests();
}
