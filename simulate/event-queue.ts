/**
 * The discrete-event queue: a binary min-heap of slot numbers ordered by
 * (time, insertion order). Slots live in typed arrays and are recycled, so
 * pushing and popping allocate nothing once the arrays have grown; the only
 * per-event object is the `ref` the caller attaches (a request or a try it
 * already has). Equal times pop in insertion order, which keeps runs
 * deterministic.
 */
export class EventQueue<Ref> {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private refs: (Ref | undefined)[] = new Array(1024);
  private heap = new Int32Array(1024);
  private free: number[] = [];
  private slots = 0;
  private count = 0;
  private nextSeq = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, kind: number, ref: Ref): void {
    const slot = this.free.length > 0 ? this.free.pop()! : this.newSlot();
    this.times[slot] = time;
    this.seqs[slot] = this.nextSeq++;
    this.kinds[slot] = kind;
    this.refs[slot] = ref;
    if (this.count === this.heap.length) this.heap = grow(this.heap);
    let i = this.count++;
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = this.heap[parent]!;
      if (!this.before(slot, p)) break;
      this.heap[i] = p;
      i = parent;
    }
    this.heap[i] = slot;
  }

  /** Time of the next event (Infinity when empty). */
  peekTime(): number {
    return this.count === 0 ? Infinity : this.times[this.heap[0]!]!;
  }

  /**
   * Removes the next event and hands its fields to `visit`. The slot is freed
   * before visit runs, so visit may push.
   */
  pop(visit: (time: number, kind: number, ref: Ref) => void): boolean {
    if (this.count === 0) return false;
    const top = this.heap[0]!;
    const time = this.times[top]!;
    const kind = this.kinds[top]!;
    const ref = this.refs[top]!;
    this.refs[top] = undefined;
    this.free.push(top);
    const last = this.heap[--this.count]!;
    if (this.count > 0) this.siftDown(last);
    visit(time, kind, ref);
    return true;
  }

  private siftDown(slot: number): void {
    let i = 0;
    const n = this.count;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(this.heap[right]!, this.heap[left]!)) child = right;
      const c = this.heap[child]!;
      if (!this.before(c, slot)) break;
      this.heap[i] = c;
      i = child;
    }
    this.heap[i] = slot;
  }

  private before(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!);
  }

  private newSlot(): number {
    if (this.slots === this.times.length) {
      const size = this.times.length * 2;
      this.times = growFloat(this.times, size);
      this.seqs = growFloat(this.seqs, size);
      const kinds = new Uint8Array(size);
      kinds.set(this.kinds);
      this.kinds = kinds;
      this.refs.length = size;
    }
    return this.slots++;
  }
}

function grow(heap: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(heap.length * 2);
  bigger.set(heap);
  return bigger;
}

function growFloat(array: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(size);
  bigger.set(array);
  return bigger;
}
