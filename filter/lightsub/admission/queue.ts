// A worker's waiting tasks of one destination: one FIFO array per priority
// level (index 0 = highest). The queue is bounded by the caller (maxQueue), so
// its arrays stay small and plain array operations (shift, splice) are cheap.
import { Destination } from "../destination";

/**
 * A request waiting for a slot. Admission owns its queue fields and decides;
 * the request's own layer (../stream.ts) says what admitting or answering it
 * means, so admission never touches a stream.
 */
export abstract class Task {
  /** Priority level (index 0 = highest). */
  level: i32 = 0;
  /** When it joined a queue (ns, host clock). */
  arrivalNs: u64 = 0;
  /** Past this it is rejected with queue-timeout. */
  deadlineNs: u64 = 0;

  /** Makes the waiting request's context the effective one; false when it is gone. */
  abstract activate(): bool;
  /**
   * Admitted onto endpoint `index` of `destination`, already claimed for it
   * (its context effective): schedule it with header `headerBytes` and let it go on.
   */
  abstract admit(destination: Destination, index: i32, headerBytes: ArrayBuffer, nowNs: u64): void;
  /** Leaves the queue unserved (its context effective): answered 503 queue-timeout (timedOut) or queue-full (evicted). */
  abstract reject(timedOut: bool): void;
}

export class TaskQueue {
  private levels: Array<Array<Task>> = [];
  /** Tasks waiting, all levels. */
  size: i32 = 0;

  constructor(levelCount: i32) {
    for (let i = 0; i < levelCount; i++) this.levels.push(new Array<Task>());
  }

  push(task: Task): void {
    this.levels[task.level].push(task);
    this.size++;
  }

  /** Index of the most urgent level with a waiting task; -1 when none waits. */
  private bestLevel(): i32 {
    if (this.size == 0) return -1;
    for (let i = 0; i < this.levels.length; i++) {
      if (this.levels[i].length > 0) return i;
    }
    return -1;
  }

  /** The task to serve next: highest level, earliest arrival. */
  peekBest(): Task | null {
    const i = this.bestLevel();
    return i < 0 ? null : this.levels[i][0];
  }

  popBest(): Task | null {
    const i = this.bestLevel();
    if (i < 0) return null;
    this.size--;
    return this.levels[i].shift();
  }

  /** The task an eviction removes: lowest level, newest arrival. */
  peekWorst(): Task | null {
    if (this.size == 0) return null;
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i];
      if (level.length > 0) return level[level.length - 1];
    }
    return null;
  }

  /** Removes `task` wherever it waits; false if it is not queued here. */
  remove(task: Task): bool {
    if (task.level < 0 || task.level >= this.levels.length) return false;
    const level = this.levels[task.level];
    const at = level.indexOf(task);
    if (at < 0) return false;
    level.splice(at, 1);
    this.size--;
    return true;
  }

  /** Removes and returns the tasks whose deadline is at or before `nowNs`, best first. */
  takeExpired(nowNs: u64): Task[] {
    const out = new Array<Task>();
    if (this.size == 0) return out;
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i];
      let kept = 0;
      for (let k = 0; k < level.length; k++) {
        const task = level[k];
        if (task.deadlineNs <= nowNs) out.push(task);
        else level[kept++] = task;
      }
      level.length = kept;
    }
    this.size -= out.length;
    return out;
  }

  /** Removes and returns every task, best first (reconfiguration). */
  takeAll(): Task[] {
    const out = new Array<Task>();
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i];
      for (let k = 0; k < level.length; k++) out.push(level[k]);
      level.length = 0;
    }
    this.size = 0;
    return out;
  }
}
