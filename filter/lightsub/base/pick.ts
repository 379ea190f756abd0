// What choosing an endpoint for a request gave. A pick is an i32: an endpoint
// index (>= 0), or one of these negative results. Strategies give an index,
// SharedDataFailed or CasExhausted (SetAside only between a strategy and its base class); admission adds Full, Queued and QueueFull.
export enum Pick {
  /** Shared data could not be read or written (the host failed). */
  SharedDataFailed = -1,
  /** A record stayed contended past MAX_CAS_ATTEMPTS (records/shared.ts). */
  CasExhausted = -2,
  /** Admission: every endpoint is at its in-flight limit. */
  Full = -3,
  /** Admission: the request has to wait in the queue. */
  Queued = -4,
  /** Admission: the queue is full and no waiting request is less urgent. */
  QueueFull = -5,
  /**
   * Strategies, internally: the endpoint chosen is ejected (records/state.ts:
   * it kept failing) and its probe is not due; the strategy makes its next
   * choice (strategies/strategy.ts). Never leaves Strategy.pick.
   */
  SetAside = -6,
}
