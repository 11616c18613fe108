// Proves RepeatFilter writes the first line of a kind at once, folds the same kind within its
// window into one closing line that counts them, keeps kinds apart, starts a new window after
// one closes, and past its bound of kinds writes every line rather than drop one; and that
// flush() (at exit) writes each open window's count once, nothing for a window without
// repeats, and never again when that window's timer fires later.
import { type FoldedLine, RepeatFilter } from '../src';

function filter(kindsMax?: number) {
  const written: FoldedLine<string>[] = [];
  const timers: (() => void)[] = [];
  const repeats = new RepeatFilter<string>({ windowMs: 30_000, kindsMax, schedule: (run) => timers.push(run) }, (line) => written.push(line));
  /** Ends every window open now, as their timers would. */
  const closeWindows = () => timers.splice(0).forEach((run) => run());
  return { repeats, written, timers, closeWindows };
}

describe('RepeatFilter', () => {
  test('the first line of a kind at once, its repeats as one counted line when the window ends', () => {
    const { repeats, written, closeWindows } = filter();
    repeats.offer('refused', 'refused #1');
    expect(written).toEqual([{ line: 'refused #1', folded: 0 }]);
    for (let i = 2; i <= 97; i += 1) repeats.offer('refused', `refused #${i}`);
    expect(written).toHaveLength(1);
    closeWindows();
    expect(written).toEqual([
      { line: 'refused #1', folded: 0 },
      { line: 'refused #97', folded: 96, lastAt: expect.any(Number) },
    ]);
  });

  test('kinds are counted apart; a window with no repeat ends without a line', () => {
    const { repeats, written, closeWindows } = filter();
    repeats.offer('a', 'a1');
    repeats.offer('b', 'b1');
    repeats.offer('a', 'a2');
    closeWindows();
    expect(written).toEqual([
      { line: 'a1', folded: 0 },
      { line: 'b1', folded: 0 },
      { line: 'a2', folded: 1, lastAt: expect.any(Number) },
    ]);
  });

  test('after a window ends, the next line of its kind is written at once and opens another', () => {
    const { repeats, written, closeWindows } = filter();
    repeats.offer('a', 'a1');
    closeWindows();
    repeats.offer('a', 'a2');
    repeats.offer('a', 'a3');
    closeWindows();
    expect(written).toEqual([
      { line: 'a1', folded: 0 },
      { line: 'a2', folded: 0 },
      { line: 'a3', folded: 1, lastAt: expect.any(Number) },
    ]);
  });

  test('past its bound of kinds, a new kind is written every time, never dropped', () => {
    const { repeats, written } = filter(1);
    repeats.offer('a', 'a1');
    repeats.offer('b', 'b1');
    repeats.offer('b', 'b2');
    repeats.offer('a', 'a2');
    expect(written.map((w) => w.line)).toEqual(['a1', 'b1', 'b2']);
  });

  describe('flush (at exit)', () => {
    test("writes each open window's repeats at once, one counted line per kind", () => {
      const { repeats, written } = filter();
      repeats.offer('a', 'a1');
      repeats.offer('a', 'a2');
      repeats.offer('a', 'a3');
      repeats.offer('b', 'b1');
      repeats.offer('b', 'b2');
      repeats.flush();
      expect(written).toEqual([
        { line: 'a1', folded: 0 },
        { line: 'b1', folded: 0 },
        { line: 'a3', folded: 2, lastAt: expect.any(Number) },
        { line: 'b2', folded: 1, lastAt: expect.any(Number) },
      ]);
    });

    test('writes nothing when no window holds a repeat, or none is open', () => {
      const { repeats, written } = filter();
      repeats.flush();
      expect(written).toEqual([]);
      repeats.offer('a', 'a1');
      repeats.offer('b', 'b1');
      repeats.flush();
      expect(written).toEqual([
        { line: 'a1', folded: 0 },
        { line: 'b1', folded: 0 },
      ]);
    });

    test("a flushed window's timer writes nothing later, and leaves the window a later line opened to count on", () => {
      const { repeats, written, timers, closeWindows } = filter();
      repeats.offer('a', 'a1');
      repeats.offer('a', 'a2');
      repeats.flush();
      repeats.flush(); // twice: nothing new
      expect(written).toHaveLength(2);
      // After the flush the kind starts afresh: its next line is written at once.
      repeats.offer('a', 'a3');
      repeats.offer('a', 'a4');
      timers.shift()!(); // the flushed window's timer: no line, and the new window stays open
      repeats.offer('a', 'a5');
      expect(written).toHaveLength(3);
      closeWindows();
      expect(written).toEqual([
        { line: 'a1', folded: 0 },
        { line: 'a2', folded: 1, lastAt: expect.any(Number) },
        { line: 'a3', folded: 0 },
        { line: 'a5', folded: 2, lastAt: expect.any(Number) },
      ]);
    });
  });
});
