import { ShutdownCoordinator } from '../../apps/lib/shutdown';

describe('ShutdownCoordinator', () => {
  test('runs cleanups once, in reverse registration order, then exits 0', async () => {
    const exit = jest.fn();
    const order: string[] = [];
    const sd = new ShutdownCoordinator({ exit });
    sd.register(() => void order.push('http'));
    sd.register(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('producer');
    });
    sd.register(() => void order.push('consumer'));
    await Promise.all([sd.shutdown('SIGTERM'), sd.shutdown('SIGINT')]);
    expect(order).toEqual(['consumer', 'producer', 'http']);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  test('a failing cleanup does not skip the others but makes the exit code 1', async () => {
    const exit = jest.fn();
    const ran: string[] = [];
    const sd = new ShutdownCoordinator({ exit });
    sd.register(() => void ran.push('first'));
    sd.register(() => {
      throw new Error('boom');
    });
    await sd.shutdown('SIGTERM');
    expect(ran).toEqual(['first']);
    expect(exit).toHaveBeenCalledWith(1);
  });

  test('exits 1 when cleanups overrun the budget', async () => {
    const exit = jest.fn();
    const sd = new ShutdownCoordinator({ exit, timeoutMs: 20 });
    sd.register(() => new Promise(() => undefined));
    await sd.shutdown('SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
  });
});
