// Task admission of one destination (docs/design.md, "Admission"; README.md
// here): a per-endpoint in-flight limit shared by all workers, and this
// worker's bounded priority queue of requests waiting for a slot.
//
// Admission decides and keeps its own books (queue, limit, metrics); for a
// new request it answers admit (an endpoint index, claimed), Pick.Queued or
// Pick.QueueFull (reject), and the stream acts on that. A waiting request is
// a Task (queue.ts) whose callbacks, written by the stream, admit or answer it.
import {
  HeaderMapType, WasmResult, getHeaderRaw, recordMetric, releaseReturned, returnedPtr, returnedSize,
} from "../../proxy-wasm/index";
import { sameBytes } from "../base/bytes";
import { Outcome } from "../base/outcome";
import { Pick } from "../base/pick";
import { AdmissionConfig } from "../config/admission";
import { Destination } from "../destination";
import { Strategy } from "../strategies/strategy";
import { Metric } from "../telemetry/table";
import { claimBelowLimit, undoClaim } from "./claim-below-limit";
import { AdaptiveLimit } from "./limit";
import { Task, TaskQueue } from "./queue";

function waitedMs(task: Task, nowNs: u64): u64 {
  return nowNs > task.arrivalNs ? (nowNs - task.arrivalNs + 500000) / 1000000 : 0;
}

export class Admission {
  maxQueue: i32;
  queueTimeoutNs: u64;
  tickMs: i32;
  /** Null: every task has the default level. */
  priorityHeader: ArrayBuffer | null = null;
  /** Level names (index 0 = highest), and the same encoded for matching the header. */
  levelNames: string[];
  levels: ArrayBuffer[] = [];
  defaultLevel: i32;
  staticLimit: i32;
  adaptive: AdaptiveLimit | null = null;
  queue: TaskQueue;
  /** Start of claimBelowLimit's scan, advanced on every use so ties spread. */
  rotor: i32 = 0;
  /** The admission of the same service in the configuration that replaced this one (if it has one). */
  successor: Admission | null = null;

  /** headerBytes: the plugin's scheduling header, handed to an admitted task. */
  constructor(public destination: Destination, public strategy: Strategy, config: AdmissionConfig, public headerBytes: ArrayBuffer) {
    this.queue = new TaskQueue(config.levels.length);
    this.maxQueue = config.maxQueue;
    this.queueTimeoutNs = <u64>config.queueTimeoutMs * 1000000;
    this.tickMs = config.tickMs;
    if (config.priorityHeader.length > 0) this.priorityHeader = String.UTF8.encode(config.priorityHeader);
    this.levelNames = config.levels;
    for (let i = 0; i < config.levels.length; i++) this.levels.push(String.UTF8.encode(config.levels[i]));
    this.defaultLevel = config.defaultLevel;
    this.staticLimit = config.maxInFlight;
    const ad = config.adaptive;
    if (ad != null) this.adaptive = new AdaptiveLimit(config.maxInFlight, ad.minLimit, ad.maxLimit, ad.windowMs);
  }

  /** The per-endpoint in-flight limit now. */
  get limit(): i32 {
    const ad = this.adaptive;
    return ad != null ? ad.current : this.staticLimit;
  }

  /** Publishes the starting limit (configure time). */
  publishLimit(): void {
    recordMetric(this.destination.metrics[Metric.AdmissionLimit], <u64>this.limit);
  }

  private nextStart(): i32 {
    const n = this.destination.endpoints.length;
    const start = this.rotor;
    this.rotor = start + 1 < n ? start + 1 : 0;
    return start;
  }

  /**
   * A new request of this destination (its request headers), after drain:
   * admitted at once if nothing waits (the strategy's choice if below the
   * limit, else the least loaded endpoint below it): its endpoint index,
   * claimed. Pick.Queued: it has to wait (enqueue). Or the strategy's failure.
   */
  admit(nowNs: u64): i32 {
    if (this.queue.size > 0) return Pick.Queued; // tasks already waiting go first
    const destination = this.destination;
    let index = this.strategy.pick(destination, nowNs);
    // The strategy's claim stored ep.state: the count including this request.
    if (index >= 0 && destination.endpoints[index].state.inFlight > this.limit) {
      undoClaim(destination, destination.endpoints[index]);
      this.strategy.probed = false; // whatever it probed is not this request's endpoint
      index = claimBelowLimit(destination, this.limit, this.nextStart());
    }
    if (index >= 0) {
      destination.count(Metric.AdmissionAdmitted);
      return index;
    }
    return index == Pick.Full ? Pick.Queued : index;
  }

  /** The request's level from the priority header (exact match; else the default). */
  private levelOfCurrent(): i32 {
    const header = this.priorityHeader;
    if (header == null) return this.defaultLevel;
    let level = this.defaultLevel;
    if (getHeaderRaw(HeaderMapType.RequestHeaders, header) == WasmResult.Ok) {
      const ptr = returnedPtr();
      const size = returnedSize();
      for (let i = 0; i < this.levels.length; i++) {
        if (sameBytes(this.levels[i], ptr, size)) {
          level = i;
          break;
        }
      }
    }
    releaseReturned();
    return level;
  }

  /** Index of level `name` in this admission's list; the default level when absent. */
  levelNamed(name: string): i32 {
    const i = this.levelNames.indexOf(name);
    return i >= 0 ? i : this.defaultLevel;
  }

  /**
   * The current request (admit said Pick.Queued) waits as `task`: Pick.Queued.
   * Pick.QueueFull: the queue is full of tasks at least as urgent; the caller
   * answers queue-full. When full, a more urgent arrival takes the place of
   * the least urgent, newest task (answered queue-full; `task` is made
   * effective again after).
   */
  enqueue(task: Task, nowNs: u64): i32 {
    const level = this.levelOfCurrent();
    if (this.queue.size >= this.maxQueue) {
      const victim = this.queue.peekWorst();
      if (victim == null || victim.level <= level) {
        this.destination.count(Metric.AdmissionRejectedQueueFull);
        return Pick.QueueFull;
      }
      this.queue.remove(victim);
      this.reject(victim, nowNs, false);
      task.activate();
    }
    task.level = level;
    task.arrivalNs = nowNs;
    task.deadlineNs = nowNs + this.queueTimeoutNs;
    this.queue.push(task);
    this.destination.count(Metric.AdmissionQueued);
    return Pick.Queued;
  }

  /**
   * Admits waiting tasks, best first, while an endpoint is below the limit;
   * a best task past its deadline is rejected instead. Returns whether any
   * task was admitted or answered: another context was made effective, so a
   * caller inside a stream's callback makes its own effective again.
   */
  drain(nowNs: u64): bool {
    const destination = this.destination;
    let moved = false;
    while (this.queue.size > 0) {
      const best = this.queue.peekBest() as Task;
      if (best.deadlineNs <= nowNs) {
        this.queue.popBest();
        this.reject(best, nowNs, true);
        moved = true;
        continue;
      }
      const index = claimBelowLimit(destination, this.limit, this.nextStart());
      if (index < 0) break; // full, or shared data failing: the next end or tick tries again
      this.queue.popBest();
      moved = true;
      this.resume(best, index, nowNs);
    }
    return moved;
  }

  /** Admits a waiting task onto the endpoint just claimed for it. */
  private resume(task: Task, index: i32, nowNs: u64): void {
    const destination = this.destination;
    this.leaveQueue(task, nowNs);
    if (!task.activate()) {
      undoClaim(destination, destination.endpoints[index]); // the request is gone (cannot happen: an ending stream leaves the queue)
      return;
    }
    destination.count(Metric.AdmissionAdmitted);
    destination.count(Metric.AdmissionDelayed);
    task.admit(destination, index, this.headerBytes, nowNs);
  }

  /** A task taken off the queue to be admitted or rejected: its wait is recorded. */
  private leaveQueue(task: Task, nowNs: u64): void {
    this.destination.count(Metric.AdmissionQueued, -1);
    recordMetric(this.destination.metrics[Metric.AdmissionWaitMs], waitedMs(task, nowNs));
  }

  /** A task leaves the queue unserved: 503 queue-timeout (timedOut) or queue-full (evicted). */
  private reject(task: Task, nowNs: u64, timedOut: bool): void {
    this.leaveQueue(task, nowNs);
    this.destination.count(timedOut ? Metric.AdmissionRejectedQueueTimeout : Metric.AdmissionRejectedQueueFull);
    if (!task.activate()) return;
    task.reject(timedOut);
  }

  /**
   * A waiting request ended (reset, client gone) before it was served: it
   * just leaves (the queue of this admission or of the one its tasks were
   * handed over to).
   */
  left(task: Task): void {
    const a = this.latest();
    if (a.queue.remove(task)) a.destination.count(Metric.AdmissionQueued, -1);
  }

  /** This admission, or the newest one that replaced it (a request may end after a reconfiguration). */
  private latest(): Admission {
    let a: Admission = this;
    while (a.successor != null) a = a.successor as Admission;
    return a;
  }

  /**
   * An admitted request of this destination ended (already accounted): its
   * latency feeds the adaptive limit, and the freed slot goes to the best
   * waiting task (of the current configuration's queue). Returns whether
   * another context was made effective (drain).
   */
  ended(outcome: Outcome, latencyNs: u64, nowNs: u64): bool {
    const target = this.latest();
    const ad = target.adaptive;
    if (ad != null && outcome == Outcome.Ok) {
      if (ad.sample(latencyNs, nowNs)) recordMetric(target.destination.metrics[Metric.AdmissionLimit], <u64>ad.current);
    }
    return target.queue.size > 0 && target.drain(nowNs);
  }

  /** Root tick: reject expired tasks, serve the rest while slots are free. */
  tick(nowNs: u64): void {
    if (this.queue.size == 0) return;
    const expired = this.queue.takeExpired(nowNs);
    for (let i = 0; i < expired.length; i++) this.reject(expired[i], nowNs, true);
    this.drain(nowNs);
  }

  /**
   * Reconfiguration: this destination's waiting tasks move to `next` (the new
   * configuration's admission of the same service; their deadlines and
   * arrival order kept, each level mapped by name: a name the new list lacks
   * becomes its default level), or, without one, are answered with
   * queue-timeout now.
   */
  handOver(next: Admission | null, nowNs: u64): void {
    if (this.queue.size == 0) return;
    const tasks = this.queue.takeAll();
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      if (next == null) {
        this.reject(task, nowNs, true);
        continue;
      }
      task.level = next.levelNamed(this.levelNames[task.level]);
      next.queue.push(task);
      // Same service, same metric names: the queued gauge already counts it.
    }
  }
}
