/**
 * The end check of `runUntilFinished`: nothing queued, scheduled or running.
 *
 * When several workers drain one backlog, all but the last run out of work while the others
 * still finish theirs: those messages stay in the stream until their ends are written. A worker
 * that saw them would look again only after its next blocking read, `minimumCheckInterval`
 * later, and so end up to that long after the last task did (a tenth of a 40,000-task drain on
 * four processes). Instead it looks again a few times, soon, as long as the stream keeps
 * shrinking (others are finishing); when it does not (another worker runs a long task), the
 * check costs one extra look and the worker goes back to its blocking read.
 *
 * @module
 */

/** What the store holds: messages in the stream, and tasks scheduled or waiting. */
export interface Counts {
  stream: number;
  queue: number;
}

/** The first wait between looks (ms); each next one is twice as long. */
const FIRST_LOOK_MS = 5;

/**
 * True when `store.counts()` finds nothing left and `idle()` holds. While only stream messages are
 * left and their number falls from one look to the next, looks again after 5, 10, 20, … ms,
 * for at most `budgetMs` in all.
 */
export async function nothingLeft(
  store: { counts(): Promise<Counts> },
  idle: () => boolean,
  budgetMs: number,
): Promise<boolean> {
  let left = await store.counts();
  let before = Infinity;
  let waited = 0;
  for (let wait = FIRST_LOOK_MS; waited + wait <= budgetMs; wait *= 2) {
    if (left.queue > 0 || left.stream === 0 || left.stream >= before || !idle()) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    waited += wait;
    before = left.stream;
    left = await store.counts();
  }
  return left.stream === 0 && left.queue === 0 && idle();
}
