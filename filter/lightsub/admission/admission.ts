// Task admission of one destination (docs/design.md, "Admission"; README.md
// here): a per-endpoint in-flight limit shared by all workers, and this
// worker's bounded priority queue of requests waiting for a slot.
import {
  FilterHeadersStatus, HeaderMapType, HeaderPair, StreamType, WasmResult,
  continueStream, currentTimeNanos, getHeaderRaw, incrementMetric, recordMetric, releaseReturned,
  returnedPtr, returnedSize, sendLocalResponseBytes, serializeHeaderPairs,
} from "../../proxy-wasm/index";
import { Destination, PICK_CAS_EXHAUSTED } from "../destination";
import { Outcome } from "../base/outcome";
import { Plugin, REASON_CONTENTION, REASON_SHARED_DATA, sameBytes } from "../plugin";
import { LightsubStream } from "../stream";
import { CLAIM_FULL, claimBelowLimit, undoClaim } from "./claim-below-limit";
import { AdmissionConfig } from "../config/admission";
import { AdaptiveLimit } from "./limit";
import { Task, TaskQueue } from "./queue";

export const REASON_QUEUE_FULL = "queue-full";
export const REASON_QUEUE_TIMEOUT = "queue-timeout";

const EMPTY = new ArrayBuffer(0);
const FULL_DETAILS = String.UTF8.encode("lightsub_queue_full");
const TIMEOUT_DETAILS = String.UTF8.encode("lightsub_queue_timeout");
const FULL_HEADERS = serializeHeaderPairs([new HeaderPair("x-lightsub-reason", REASON_QUEUE_FULL)]);
const TIMEOUT_HEADERS = serializeHeaderPairs([new HeaderPair("x-lightsub-reason", REASON_QUEUE_TIMEOUT)]);

/** Metric ids (telemetry.ts defines them). */
export class AdmissionMetrics {
  queued: u32 = 0;
  waitMs: u32 = 0;
  admitted: u32 = 0;
  delayed: u32 = 0;
  rejectedQueueFull: u32 = 0;
  rejectedQueueTimeout: u32 = 0;
  limit: u32 = 0;
}

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
  metrics: AdmissionMetrics = new AdmissionMetrics();
  /** Start of claimBelowLimit's scan, advanced on every use so ties spread. */
  rotor: i32 = 0;
  /** The admission of the same service in the configuration that replaced this one (if it has one). */
  successor: Admission | null = null;

  constructor(public destination: Destination, config: AdmissionConfig, public headerBytes: ArrayBuffer) {
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
    recordMetric(this.metrics.limit, <u64>this.limit);
  }

  private nextStart(): i32 {
    const n = this.destination.endpoints.length;
    const start = this.rotor;
    this.rotor = start + 1 < n ? start + 1 : 0;
    return start;
  }

  /**
   * A new request of this destination (its request headers): admitted at once
   * (the strategy's choice if below the limit, else the least loaded endpoint
   * below it), or queued (StopIteration), or rejected with queue-full.
   */
  arrive(stream: LightsubStream, plugin: Plugin, nowNs: u64): FilterHeadersStatus {
    const destination = this.destination;
    // Tasks already waiting go first: serve them if slots freed since.
    if (this.queue.size > 0) this.drain(nowNs, stream);
    if (this.queue.size == 0) {
      let index = destination.strategy.pick(destination, nowNs);
      // The strategy's claim stored ep.state: the count including this request.
      if (index >= 0 && destination.endpoints[index].state.inFlight > this.limit) {
        undoClaim(destination, destination.endpoints[index]);
        index = claimBelowLimit(destination, this.limit, this.nextStart());
      }
      if (index >= 0) {
        incrementMetric(this.metrics.admitted, 1);
        stream.steer(this.headerBytes, destination, destination.endpoints[index], nowNs);
        return FilterHeadersStatus.Continue;
      }
      if (index != CLAIM_FULL) {
        return stream.unscheduled(plugin, destination, index == PICK_CAS_EXHAUSTED ? REASON_CONTENTION : REASON_SHARED_DATA);
      }
    }
    return this.enqueue(stream, nowNs);
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

  private enqueue(stream: LightsubStream, nowNs: u64): FilterHeadersStatus {
    const level = this.levelOfCurrent();
    if (this.queue.size >= this.maxQueue) {
      // Full: a more urgent arrival takes the place of the least urgent, newest task.
      const victim = this.queue.peekWorst();
      if (victim == null || victim.level <= level) {
        incrementMetric(this.metrics.rejectedQueueFull, 1);
        sendLocalResponseBytes(503, FULL_DETAILS, EMPTY, FULL_HEADERS);
        return FilterHeadersStatus.StopIteration;
      }
      this.queue.remove(victim);
      this.reject(victim, nowNs, false);
      stream.setEffective();
    }
    const task = new Task(stream, level, nowNs, nowNs + this.queueTimeoutNs);
    this.queue.push(task);
    stream.task = task;
    stream.waitingIn = this;
    incrementMetric(this.metrics.queued, 1);
    return FilterHeadersStatus.StopIteration;
  }

  /**
   * Admits waiting tasks, best first, while an endpoint is below the limit;
   * a best task past its deadline is rejected instead. `current`: the stream
   * whose callback runs, made effective again afterwards (null: a root callback).
   */
  drain(nowNs: u64, current: LightsubStream | null): void {
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
    if (moved && current != null) current.setEffective();
  }

  /** Schedules a waiting task onto the endpoint just claimed for it and lets it go on. */
  private resume(task: Task, index: i32, nowNs: u64): void {
    const stream = task.stream;
    const ep = this.destination.endpoints[index];
    this.leaveQueue(task, nowNs);
    if (stream.setEffective() != WasmResult.Ok) {
      undoClaim(this.destination, ep); // the stream is gone (cannot happen: an ending stream leaves the queue)
      return;
    }
    incrementMetric(this.metrics.admitted, 1);
    incrementMetric(this.metrics.delayed, 1);
    stream.steer(this.headerBytes, this.destination, ep, nowNs);
    continueStream(StreamType.Request);
  }

  /** A task taken off the queue to be admitted or rejected: its stream waits no more; its wait is recorded. */
  private leaveQueue(task: Task, nowNs: u64): void {
    const stream = task.stream;
    stream.task = null;
    stream.waitingIn = null;
    incrementMetric(this.metrics.queued, -1);
    recordMetric(this.metrics.waitMs, waitedMs(task, nowNs));
  }

  /** Answers a task that leaves the queue unserved: 503 queue-timeout (timedOut) or queue-full (evicted). */
  private reject(task: Task, nowNs: u64, timedOut: bool): void {
    const stream = task.stream;
    this.leaveQueue(task, nowNs);
    incrementMetric(timedOut ? this.metrics.rejectedQueueTimeout : this.metrics.rejectedQueueFull, 1);
    if (stream.setEffective() != WasmResult.Ok) return;
    if (timedOut) sendLocalResponseBytes(503, TIMEOUT_DETAILS, EMPTY, TIMEOUT_HEADERS);
    else sendLocalResponseBytes(503, FULL_DETAILS, EMPTY, FULL_HEADERS);
  }

  /** A waiting stream ended (reset, client gone) before it was served: it just leaves. */
  left(stream: LightsubStream): void {
    const task = stream.task;
    stream.task = null;
    stream.waitingIn = null;
    if (task != null && this.queue.remove(task)) incrementMetric(this.metrics.queued, -1);
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
   * waiting task (of the current configuration's queue).
   */
  ended(stream: LightsubStream, outcome: Outcome, nowNs: u64): void {
    const target = this.latest();
    const ad = target.adaptive;
    if (ad != null && outcome == Outcome.Ok) {
      const latencyNs = nowNs > stream.startNs ? nowNs - stream.startNs : 0;
      if (ad.sample(latencyNs, nowNs)) recordMetric(target.metrics.limit, <u64>ad.current);
    }
    if (target.queue.size > 0) target.drain(nowNs, stream);
  }

  /** Root tick: reject expired tasks, serve the rest while slots are free. */
  tick(nowNs: u64): void {
    if (this.queue.size == 0) return;
    const expired = this.queue.takeExpired(nowNs);
    for (let i = 0; i < expired.length; i++) this.reject(expired[i], nowNs, true);
    this.drain(nowNs, null);
  }

  /**
   * Reconfiguration: this destination's waiting tasks move to `next` (the new
   * configuration's admission of the same service; their deadlines and
   * arrival order kept, each level mapped by name: a name the new list lacks
   * becomes its default level), or, without one,
   * are answered with queue-timeout now.
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
      task.stream.waitingIn = next;
      // Same service, same metric names: the queued gauge already counts it.
    }
  }
}

/** Smallest tickMs of the plugin's destinations with admission; 0 when none has it. */
export function admissionTickMs(plugin: Plugin): u32 {
  let tick: i32 = 0;
  for (let i = 0; i < plugin.destinations.length; i++) {
    const a = plugin.destinations[i].admission;
    if (a != null && (tick == 0 || a.tickMs < tick)) tick = a.tickMs;
  }
  return <u32>tick;
}

/** Root tick for every destination with admission (no host call when nothing waits). */
export function tickAdmission(plugin: Plugin, nowNs: u64): void {
  for (let i = 0; i < plugin.destinations.length; i++) {
    const a = plugin.destinations[i].admission;
    if (a != null) a.tick(nowNs);
  }
}

/**
 * A configuration is replaced by `next` (null: deleted). Each of its
 * admissions learns its successor (the same service's in `next`), so requests
 * of the old configuration that end later free slots for the new queue; waiting
 * tasks move there or are answered (Admission.handOver). Returns whether any
 * task moved or was answered (the effective context changed). No host call
 * when nothing waits.
 */
export function handOverAdmission(previous: Plugin, next: Plugin | null): bool {
  let nowNs: u64 = 0;
  let touched = false;
  for (let i = 0; i < previous.destinations.length; i++) {
    const old = previous.destinations[i].admission;
    if (old == null) continue;
    let target: Admission | null = null;
    if (next != null) {
      for (let j = 0; j < next.destinations.length; j++) {
        const d = next.destinations[j];
        if (d.service == old.destination.service && d.admission != null) target = d.admission;
      }
    }
    old.successor = target;
    if (old.queue.size == 0) continue;
    if (nowNs == 0) nowNs = currentTimeNanos();
    old.handOver(target, nowNs);
    touched = true;
  }
  return touched;
}
