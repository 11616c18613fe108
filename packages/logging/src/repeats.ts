/**
 * Repeated lines folded into one per window: the first line of a kind is written at once,
 * the same kind again within `windowMs` is counted instead, and when the window ends one line
 * says how many were folded ("...; 96 more like this in the last 30 s") and when the last of
 * them came (it may be seconds before the closing line is written).
 *
 * At exit, `flush()` writes the counts of the windows still open: the timers are unref'd (they
 * never hold a process open), so a process that stops inside a window would otherwise never
 * write that window's count, and the repeats of a fault that lasted until the shutdown (a
 * broker gone for the last 20 s) would read as one line.
 *
 * Why: a client library that retries by itself logs each attempt. With Kafka down for 90 s,
 * the API and two workers wrote ~590 kafkajs lines (`Connection error: connect
 * ECONNREFUSED`, `Failed to connect to seed broker` ...), one pair per retry, burying the
 * few lines that say something new. An operator needs the first line of a kind, and how often
 * it kept coming; not each copy.
 *
 * A line's kind is what the caller says it is (its level, message and error text, without
 * the fields that differ each time). Kinds are bounded (`kindsMax`): past the bound a new
 * kind is written as it comes, never dropped.
 */
export interface RepeatFilterOptions {
  windowMs: number;
  /** At most this many kinds are counted at once. */
  kindsMax?: number;
  /** For tests: the timer that ends a window (setTimeout, unref'd, by default). */
  schedule?: (run: () => void, ms: number) => void;
}

export interface FoldedLine<Line> {
  line: Line;
  /** How many lines of this kind were folded into it (0 for the first of a window). */
  folded: number;
  /** When the last folded line came (ms since the epoch); the closing line is written later, when its window ends. */
  lastAt?: number;
}

const KINDS_MAX_DEFAULT = 1_000;

interface Window<Line> {
  last: Line;
  lastAt: number;
  folded: number;
}

export class RepeatFilter<Line> {
  private readonly windows = new Map<string, Window<Line>>();
  private readonly schedule: (run: () => void, ms: number) => void;

  constructor(
    private readonly options: RepeatFilterOptions,
    private readonly write: (folded: FoldedLine<Line>) => void,
  ) {
    this.schedule =
      options.schedule ??
      ((run, ms) => {
        setTimeout(run, ms).unref();
      });
  }

  /** Writes `line` now, or counts it when a line of its `kind` was written within the window. */
  offer(kind: string, line: Line): void {
    const open = this.windows.get(kind);
    if (open) {
      open.folded += 1;
      open.last = line;
      open.lastAt = Date.now();
      return;
    }
    this.write({ line, folded: 0 });
    if (this.windows.size >= (this.options.kindsMax ?? KINDS_MAX_DEFAULT)) return;
    const window: Window<Line> = { last: line, lastAt: Date.now(), folded: 0 };
    this.windows.set(kind, window);
    this.schedule(() => this.close(kind, window), this.options.windowMs);
  }

  /**
   * Ends every open window now, as if its time were up: one counted line per kind with repeats
   * (none for a kind seen once), and the next line of a kind is written at once. For a process
   * about to stop: once what logs through the filter is stopped, before the process exits.
   */
  flush(): void {
    for (const [kind, window] of [...this.windows]) this.close(kind, window);
  }

  private close(kind: string, window: Window<Line>): void {
    // A window flush() already ended: its timer still fires, and must neither write its count
    // again nor end the window a later line of its kind opened.
    if (this.windows.get(kind) !== window) return;
    this.windows.delete(kind);
    if (window.folded > 0) this.write({ line: window.last, folded: window.folded, lastAt: window.lastAt });
  }
}
