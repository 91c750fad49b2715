import { CommitTracker } from '../../apps/lib/commits';

describe('CommitTracker', () => {
  const at = (offset: string, metadata?: string) => ({ topic: 't', partition: 0, offset, ...(metadata ? { metadata } : {}) });

  it('keeps the latest mark per partition, even a lower offset (the processor floor may move back)', () => {
    const t = new CommitTracker();
    t.reset(1);
    t.mark(1, at('10'));
    t.mark(1, at('8', 'wm=1'));
    expect(t.pending()).toEqual([at('8', 'wm=1')]);
  });

  it('does not send again what is committed, but does when only the metadata changed', () => {
    const t = new CommitTracker();
    t.reset(1, [at('5', 'a')]);
    t.mark(1, at('5', 'a'));
    expect(t.pending()).toEqual([]);
    t.mark(1, at('5', 'b'));
    expect(t.pending()).toEqual([at('5', 'b')]);
    t.committedIn(1, [at('5', 'b')]);
    expect(t.pending()).toEqual([]);
  });

  it("drops an older generation's marks and commits instead of committing over the new owner", () => {
    const t = new CommitTracker();
    t.reset(1);
    t.mark(1, at('10'));
    t.reset(2);
    t.mark(1, at('12'));
    t.committedIn(1, [at('12')]);
    expect(t.pending()).toEqual([]);
    expect(t.committedOffset('t', 0)).toBeUndefined();
  });
});
