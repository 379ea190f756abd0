/**
 * One simulated endpoint (an upstream app instance): it serves at most
 * `concurrency` requests at once, queues the rest FIFO (up to `queueLimit`),
 * draws service times from its distribution × the current slowdown, and
 * answers `errorStatus` with the current error rate. Its state over time
 * (slowdowns, outages, error bursts) follows the workload's timeline.
 *
 * Each backend draws from its own random stream, always two numbers per
 * request it starts serving, so every strategy sees the same sequence of
 * service times at an endpoint (common random numbers).
 */
import { meanOf, samplerFor, type Sampler } from "./distributions.js";
import { Random, STREAM } from "./random.js";
import type { EndpointBehaviour, EndpointState } from "./workload/model.js";

/** Where a try stands on the backend's side. */
export const TryPhase = { Connecting: 0, Queued: 1, Serving: 2, Done: 3 } as const;
export type TryPhase = (typeof TryPhase)[keyof typeof TryPhase];

/** One upstream attempt of a request (the first try or a retry). */
export interface BackendTry {
  phase: TryPhase;
  /** Whether the served request fails (decided when service starts). */
  failed: boolean;
}

export class Backend<T extends BackendTry> {
  state: EndpointState;
  serving = 0;
  /** Live queued tries (the array may still hold tries that left: skipped on dequeue). */
  waiting = 0;
  readonly inService = new Set<T>();
  readonly meanServiceMs: number;
  readonly concurrency: number;
  readonly queueLimit: number;
  readonly errorStatus: number;

  private queue: T[] = [];
  private head = 0;
  private readonly sample: Sampler;
  private readonly rng: Random;

  constructor(
    readonly behaviour: EndpointBehaviour,
    seed: number,
    index: number,
  ) {
    this.state = behaviour.timeline[0]!.state;
    this.sample = samplerFor(behaviour.latency);
    this.meanServiceMs = meanOf(behaviour.latency);
    this.concurrency = behaviour.concurrency;
    this.queueLimit = behaviour.queueLimit;
    this.errorStatus = behaviour.errorStatus;
    this.rng = new Random(seed, STREAM.endpointBase + index);
  }

  get hasRoom(): boolean {
    return this.serving < this.concurrency;
  }

  get queueFull(): boolean {
    return this.waiting >= this.queueLimit;
  }

  /** Starts serving `t`; returns its service time (ms). */
  serve(t: T): number {
    this.serving++;
    this.inService.add(t);
    t.phase = TryPhase.Serving;
    const time = this.sample(this.rng) * this.state.slowdown;
    t.failed = this.rng.next() < this.state.errorRate;
    return time;
  }

  /** A served try finished: frees its slot. */
  release(t: T): void {
    this.serving--;
    this.inService.delete(t);
    t.phase = TryPhase.Done;
  }

  enqueue(t: T): void {
    t.phase = TryPhase.Queued;
    this.queue.push(t);
    this.waiting++;
  }

  /** A queued try left (its client gave up): it will be skipped. */
  leaveQueue(t: T): void {
    t.phase = TryPhase.Done;
    this.waiting--;
  }

  /** The next live queued try, removed from the queue. */
  dequeue(): T | undefined {
    while (this.head < this.queue.length) {
      const t = this.queue[this.head++]!;
      if (t.phase === TryPhase.Queued) {
        this.waiting--;
        this.compact();
        return t;
      }
    }
    this.compact();
    return undefined;
  }

  /** Everything queued or in service (for an outage that cuts connections); the backend is then empty. */
  drainAll(): T[] {
    const out: T[] = [...this.inService];
    for (let i = this.head; i < this.queue.length; i++) {
      const t = this.queue[i]!;
      if (t.phase === TryPhase.Queued) out.push(t);
    }
    for (const t of out) t.phase = TryPhase.Done;
    this.inService.clear();
    this.serving = 0;
    this.queue = [];
    this.head = 0;
    this.waiting = 0;
    return out;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
