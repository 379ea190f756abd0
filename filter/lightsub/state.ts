// The per-endpoint record kept in shared data under "lightsub/v1/<endpoint cluster>".
//
// Fixed size, little-endian:
//   0  u32  layout tag (RECORD_TAG); a record with another tag or size is treated as empty
//   4  i32  requests in flight (all workers)
//   8  f64  peak-EWMA latency, microseconds
//  16  u64  time of the last EWMA update, ns
//  24  u64  time the last availability probe was claimed, ms
//  32  WINDOW_BUCKETS x { u32 slot, u32 requests, u32 errors }: the error window;
//      slot = time / bucket length, so a bucket whose slot is too old is ignored.

export const RECORD_TAG: u32 = 0x01534c31; // "1LS\x01"
export const WINDOW_BUCKETS: i32 = 10;
export const RECORD_SIZE: i32 = 32 + WINDOW_BUCKETS * 12;

export class EndpointState {
  inFlight: i32 = 0;
  ewmaUs: f64 = 0;
  ewmaStampNs: u64 = 0;
  lastProbeMs: u64 = 0;
  slots: StaticArray<u32> = new StaticArray<u32>(WINDOW_BUCKETS);
  requests: StaticArray<u32> = new StaticArray<u32>(WINDOW_BUCKETS);
  errors: StaticArray<u32> = new StaticArray<u32>(WINDOW_BUCKETS);
  /** CAS token of the shared value this state was read from (0: not stored yet). */
  cas: u32 = 0;
  /** Filled by countWindow(). */
  windowRequests: u32 = 0;
  windowErrors: u32 = 0;

  clear(): void {
    this.inFlight = 0;
    this.ewmaUs = 0;
    this.ewmaStampNs = 0;
    this.lastProbeMs = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      this.slots[i] = 0;
      this.requests[i] = 0;
      this.errors[i] = 0;
    }
  }

  /** Loads a stored record; anything malformed reads as an empty record. */
  decode(ptr: usize, size: usize): void {
    if (ptr == 0 || size != <usize>RECORD_SIZE || load<u32>(ptr) != RECORD_TAG) {
      this.clear();
      return;
    }
    this.inFlight = load<i32>(ptr, 4);
    const ewma = load<f64>(ptr, 8);
    this.ewmaUs = isFinite(ewma) && ewma > 0 ? ewma : 0;
    this.ewmaStampNs = load<u64>(ptr, 16);
    this.lastProbeMs = load<u64>(ptr, 24);
    let p = ptr + 32;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      this.slots[i] = load<u32>(p);
      this.requests[i] = load<u32>(p, 4);
      this.errors[i] = load<u32>(p, 8);
      p += 12;
    }
  }

  /** Writes the record into RECORD_SIZE bytes at ptr. */
  encode(ptr: usize): void {
    store<u32>(ptr, RECORD_TAG);
    store<i32>(ptr, this.inFlight, 4);
    store<f64>(ptr, this.ewmaUs, 8);
    store<u64>(ptr, this.ewmaStampNs, 16);
    store<u64>(ptr, this.lastProbeMs, 24);
    let p = ptr + 32;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      store<u32>(p, this.slots[i]);
      store<u32>(p, this.requests[i], 4);
      store<u32>(p, this.errors[i], 8);
      p += 12;
    }
  }

  /** Sums the buckets of the window ending at `slot` into windowRequests/windowErrors. */
  countWindow(slot: u32): void {
    let requests: u32 = 0;
    let errors: u32 = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      // Unsigned age: buckets from the future (clock steps) look ancient and are skipped.
      if (slot - this.slots[i] < <u32>WINDOW_BUCKETS) {
        requests += this.requests[i];
        errors += this.errors[i];
      }
    }
    this.windowRequests = requests;
    this.windowErrors = errors;
  }

  /** Adds one finished request to the bucket of `slot`. */
  recordInWindow(slot: u32, failed: bool): void {
    const i = <i32>(slot % <u32>WINDOW_BUCKETS);
    if (this.slots[i] != slot) {
      this.slots[i] = slot;
      this.requests[i] = 0;
      this.errors[i] = 0;
    }
    this.requests[i] += 1;
    if (failed) this.errors[i] += 1;
  }

  /**
   * Peak-EWMA: a sample above the current value replaces it at once (react to
   * slowness immediately); otherwise it decays toward the sample with weight
   * exp(-elapsed / decay).
   */
  observeLatency(sampleUs: f64, nowNs: u64, decayNs: f64): void {
    if (this.ewmaUs == 0 || sampleUs >= this.ewmaUs || nowNs <= this.ewmaStampNs) {
      this.ewmaUs = sampleUs > this.ewmaUs || this.ewmaUs == 0 ? sampleUs : this.ewmaUs;
    } else {
      const w = Math.exp(-(<f64>(nowNs - this.ewmaStampNs)) / decayNs);
      this.ewmaUs = this.ewmaUs * w + sampleUs * (1 - w);
    }
    if (nowNs > this.ewmaStampNs) this.ewmaStampNs = nowNs;
  }

  /** The EWMA as seen at `nowNs`: an idle endpoint's cost fades so it gets retried. */
  ewmaAt(nowNs: u64, decayNs: f64): f64 {
    if (this.ewmaUs == 0 || nowNs <= this.ewmaStampNs) return this.ewmaUs;
    return this.ewmaUs * Math.exp(-(<f64>(nowNs - this.ewmaStampNs)) / decayNs);
  }
}
