/** A queue of timed actions for virtual time: earliest first, and in scheduling order at equal times. */

/** Something to do at a point of virtual time. */
export type Action = () => void | Promise<void>;

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly action: Action;
}

/** A binary min-heap of actions by (time, scheduling order): the order is fully determined. */
export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  /** How many actions wait. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `action` at `at` (epoch ms). */
  push(at: number, action: Action): void {
    const heap = this.heap;
    heap.push({ at, seq: this.seq++, action });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  /** The time of the next action, or undefined when none waits. */
  peekTime(): number | undefined {
    return this.heap[0]?.at;
  }

  /** Takes the next action. */
  pop(): { at: number; action: Action } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left] as Entry, heap[smallest] as Entry)) smallest = left;
        if (right < heap.length && before(heap[right] as Entry, heap[smallest] as Entry)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry];
        i = smallest;
      }
    }
    return { at: top.at, action: top.action };
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
