// Proves the batch admission bound: items in flight never exceed it (a larger batch runs
// alone), batches start in arrival order, a batch that cannot start within the wait is
// refused and counted, at most a round of items waits, and a full queue reports itself saturated.
import { AdmissionRefusedError, BatchAdmission } from '../src/batch-admission';

/** A unit of work that ends when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchAdmission', () => {
  test('never more items in flight than the bound; waiting batches start in arrival order', async () => {
    let peak = 0;
    const admission = new BatchAdmission({ itemsInFlightMax: 10, waitMaxMs: 10_000, onInFlight: (n) => (peak = Math.max(peak, n)) });
    const started: string[] = [];
    const works = new Map<string, ReturnType<typeof gate>>();
    const submit = (name: string, items: number) => {
      const work = gate();
      works.set(name, work);
      return admission.run(items, async () => {
        started.push(name);
        await work.promise;
        return name;
      });
    };
    const a = submit('a', 6);
    const b = submit('b', 6); // does not fit beside a
    const c = submit('c', 2); // would fit, but b came first
    await tick();
    expect(started).toEqual(['a']);
    expect(admission.inFlight).toBe(6);

    works.get('a')!.open();
    await expect(a).resolves.toBe('a');
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    expect(admission.inFlight).toBe(8);
    works.get('b')!.open();
    works.get('c')!.open();
    await expect(Promise.all([b, c])).resolves.toEqual(['b', 'c']);
    expect(admission.inFlight).toBe(0);
    expect(peak).toBe(8);
  });

  test('a batch larger than the bound runs alone, never refused for its size', async () => {
    const admission = new BatchAdmission({ itemsInFlightMax: 10, waitMaxMs: 10_000 });
    await expect(admission.run(500, async () => admission.inFlight)).resolves.toBe(500);
    expect(admission.inFlight).toBe(0);
  });

  test('a batch that cannot start within the wait is refused and counted; the work never runs', async () => {
    let refused = 0;
    const admission = new BatchAdmission({ itemsInFlightMax: 5, waitMaxMs: 30, onRefused: () => refused++ });
    const first = gate();
    const running = admission.run(5, () => first.promise);
    let ran = false;
    await expect(
      admission.run(1, async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(AdmissionRefusedError);
    expect(ran).toBe(false);
    expect(refused).toBe(1);
    first.open();
    await running;
    expect(admission.inFlight).toBe(0);
    // The refused batch left nothing behind: the next one starts at once.
    await expect(admission.run(5, async () => 'next')).resolves.toBe('next');
  });

  test('with no wait, a batch that does not fit is refused at once', async () => {
    const admission = new BatchAdmission({ itemsInFlightMax: 5, waitMaxMs: 0 });
    const first = gate();
    const running = admission.run(3, () => first.promise);
    await expect(admission.run(3, async () => undefined)).rejects.toBeInstanceOf(AdmissionRefusedError);
    await expect(admission.run(2, async () => 'fits')).resolves.toBe('fits');
    first.open();
    await running;
  });

  test('a refused head lets the smaller batches behind it start', async () => {
    const admission = new BatchAdmission({ itemsInFlightMax: 10, waitMaxMs: 20 });
    const held = gate();
    const holder = admission.run(8, () => held.promise);
    const large = admission.run(5, async () => 'large'); // waits, then is refused
    const small = admission.run(2, async () => 'small'); // fits, but waits behind the large one
    await expect(large).rejects.toBeInstanceOf(AdmissionRefusedError);
    await expect(small).resolves.toBe('small');
    held.open();
    await holder;
  });

  test('past a full round of items waiting, a batch is refused at once, not after the wait', async () => {
    let refused = 0;
    const admission = new BatchAdmission({ itemsInFlightMax: 10, waitMaxMs: 60_000, onRefused: () => refused++ });
    const held = gate();
    const holder = admission.run(10, () => held.promise);
    const waiting = admission.run(6, async () => 'waited'); // a round has room for it
    let ran = false;
    const over = admission.run(5, async () => (ran = true)); // 6 + 5 waiting would pass the round
    await expect(over).rejects.toBeInstanceOf(AdmissionRefusedError); // within the test's 5 s, not the 60 s wait
    expect([refused, ran]).toEqual([1, false]);
    const fits = admission.run(4, async () => 'fits'); // 6 + 4: still a round
    held.open();
    await holder;
    await expect(waiting).resolves.toBe('waited');
    await expect(fits).resolves.toBe('fits');
  });

  test('saturated once a full round of items is waiting', async () => {
    const admission = new BatchAdmission({ itemsInFlightMax: 4, waitMaxMs: 10_000 });
    const first = gate();
    const running = admission.run(4, () => first.promise);
    expect(admission.saturated()).toBe(false);
    const second = admission.run(3, async () => undefined);
    expect(admission.saturated()).toBe(false);
    const third = admission.run(1, async () => undefined);
    expect(admission.saturated()).toBe(true);
    first.open();
    await Promise.all([running, second, third]);
    expect(admission.saturated()).toBe(false);
  });
});
