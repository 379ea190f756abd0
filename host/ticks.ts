/**
 * Virtual-time tick timers, one per root context (Envoy's Wasm::setTimerPeriod:
 * setting a period (re)arms the timer `period` from now, 0 disarms it, and after
 * each tick the timer is re-armed `period` from the tick's time).
 */
export interface TickTimer {
  /** Opaque owner key: which root context to tick. */
  readonly owner: object;
  periodMs: number;
  dueMs: number;
  /** Arming order, to fire timers due at the same instant in arming order. */
  seq: number;
}

export class TickScheduler {
  private readonly timers = new Map<object, TickTimer>();
  private seq = 0;

  set(owner: object, periodMs: number, nowMs: number): void {
    if (!(periodMs > 0)) {
      this.timers.delete(owner);
      return;
    }
    this.timers.set(owner, { owner, periodMs, dueMs: nowMs + periodMs, seq: this.seq++ });
  }

  /** Re-arms after a tick, if the timer still exists. */
  rearm(owner: object, nowMs: number): void {
    const t = this.timers.get(owner);
    if (t) {
      t.dueMs = nowMs + t.periodMs;
      t.seq = this.seq++;
    }
  }

  cancel(owner: object): void {
    this.timers.delete(owner);
  }

  periodOf(owner: object): number | undefined {
    return this.timers.get(owner)?.periodMs;
  }

  /** The earliest timer due at or before limitMs, or undefined. */
  nextDue(limitMs: number): TickTimer | undefined {
    let best: TickTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.dueMs > limitMs) continue;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
