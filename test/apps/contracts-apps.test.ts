import { allApps, appNamed, apps, consumerApps, maxUsefulReplicas } from '../../apps/contracts/apps';
import { topics } from '../../apps/contracts/topics';

describe('app catalog', () => {
  it('gives every app a distinct name, port and consumer group', () => {
    const distinct = (xs: unknown[]) => new Set(xs).size === xs.length;
    expect(distinct(allApps.map((a) => a.name))).toBe(true);
    expect(distinct(allApps.map((a) => a.httpPort))).toBe(true);
    expect(distinct(consumerApps.map((a) => a.consumerGroup))).toBe(true);
  });

  it('scales each consumer only on topics it consumes, and every consumer on at least one', () => {
    for (const app of consumerApps) {
      expect(app.scalesOn.length).toBeGreaterThan(0);
      for (const t of app.scalesOn) expect(app.consumes).toContain(t);
    }
  });

  it('names the known apps when asked for an unknown one', () => {
    expect(appNamed('lake-sink')).toBe(apps.lakeSink);
    expect(() => appNamed('enricher')).toThrow(/unknown app 'enricher'.*processor/);
  });

  it('bounds useful replicas by the largest consumed topic', () => {
    expect(maxUsefulReplicas(apps.cassandraSink)).toBe(Math.max(topics.clean.partitions, topics.aggregates.partitions));
    expect(maxUsefulReplicas(apps.producer)).toBe(Number.POSITIVE_INFINITY);
  });
});
