// The per-endpoint record kept in shared data under "lightsub/v1/<endpoint cluster>".
//
// Fixed size, little-endian:
//   0  u32  layout tag (RECORD_TAG); a record with another tag or size is treated as empty
//   4  i32  requests in flight (all workers)
//   8  f64  peak-EWMA latency, microseconds
//  16  u64  time of the last EWMA update, ns
//  24  u64  time the last availability probe was claimed, ms
//  32  u32  consecutive failures (any worker; a success resets it)
//  36  u32  ejections in a row (grows the ejection time; healthy traffic resets it)
//  40  u64  ejected until, ms: 0 = not ejected; while ejected, set aside by every
//           strategy until then, then one probe (claimed with CAS, which moves
//           this an ejection time further) decides: success returns it to 0
//  48  WINDOW_BUCKETS x { u32 slot, u32 requests, u32 errors }: the error window;
//      slot = time / bucket length, so a bucket whose slot is too old is ignored.
//
// EndpointState holds the record as these very bytes: reading it from shared
// data is one copy, writing it back hands the same bytes to the host, and the
// fields are loads and stores at fixed offsets (no decode/encode per request).

const RECORD_TAG: u32 = 0x02534c31; // "1LS\x02" (2: the ejection fields)
export const WINDOW_BUCKETS: i32 = 10;
export const RECORD_SIZE: i32 = 48 + WINDOW_BUCKETS * 12;

const WINDOW_OFFSET: usize = 48;
const BUCKET_SIZE: usize = 12;

export class EndpointState {
  /** The record's bytes (RECORD_SIZE). */
  private raw: StaticArray<u8> = new StaticArray<u8>(RECORD_SIZE);
  /** CAS token of the shared value this state was read from (0: not stored yet). */
  cas: u32 = 0;
  /** Filled by countWindow(). */
  windowRequests: u32 = 0;
  windowErrors: u32 = 0;

  constructor() {
    this.clear();
  }

  /** Address of the record's bytes (what writeState hands to the host). */
  get ptr(): usize { return changetype<usize>(this.raw); }

  get inFlight(): i32 { return load<i32>(this.ptr, 4); }
  set inFlight(v: i32) { store<i32>(this.ptr, v, 4); }
  get ewmaUs(): f64 { return load<f64>(this.ptr, 8); }
  set ewmaUs(v: f64) { store<f64>(this.ptr, v, 8); }
  get ewmaStampNs(): u64 { return load<u64>(this.ptr, 16); }
  set ewmaStampNs(v: u64) { store<u64>(this.ptr, v, 16); }
  get lastProbeMs(): u64 { return load<u64>(this.ptr, 24); }
  set lastProbeMs(v: u64) { store<u64>(this.ptr, v, 24); }
  get consecutiveFailures(): u32 { return load<u32>(this.ptr, 32); }
  set consecutiveFailures(v: u32) { store<u32>(this.ptr, v, 32); }
  get ejections(): u32 { return load<u32>(this.ptr, 36); }
  set ejections(v: u32) { store<u32>(this.ptr, v, 36); }
  get ejectedUntilMs(): u64 { return load<u64>(this.ptr, 40); }
  set ejectedUntilMs(v: u64) { store<u64>(this.ptr, v, 40); }

  clear(): void {
    memory.fill(this.ptr, 0, <usize>RECORD_SIZE);
    store<u32>(this.ptr, RECORD_TAG);
  }

  /** Loads a stored record; anything malformed reads as an empty record. */
  decode(ptr: usize, size: usize): void {
    if (ptr == 0 || size != <usize>RECORD_SIZE || load<u32>(ptr) != RECORD_TAG) {
      this.clear();
      return;
    }
    memory.copy(this.ptr, ptr, <usize>RECORD_SIZE);
    const ewma = this.ewmaUs;
    if (!(isFinite(ewma) && ewma > 0)) this.ewmaUs = 0;
  }

  /** Sums the buckets of the window ending at `slot` into windowRequests/windowErrors. */
  countWindow(slot: u32): void {
    let requests: u32 = 0;
    let errors: u32 = 0;
    let p = this.ptr + WINDOW_OFFSET;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      // Unsigned age: buckets from the future (clock steps) look ancient and are skipped.
      if (slot - load<u32>(p) < <u32>WINDOW_BUCKETS) {
        requests += load<u32>(p, 4);
        errors += load<u32>(p, 8);
      }
      p += BUCKET_SIZE;
    }
    this.windowRequests = requests;
    this.windowErrors = errors;
  }

  /** Adds one finished request to the bucket of `slot`. */
  recordInWindow(slot: u32, failed: bool): void {
    const p = this.ptr + WINDOW_OFFSET + <usize>(slot % <u32>WINDOW_BUCKETS) * BUCKET_SIZE;
    if (load<u32>(p) != slot) {
      store<u32>(p, slot);
      store<u32>(p, 0, 4);
      store<u32>(p, 0, 8);
    }
    store<u32>(p, load<u32>(p, 4) + 1, 4);
    if (failed) store<u32>(p, load<u32>(p, 8) + 1, 8);
  }

  /**
   * Peak-EWMA: a sample above the current value replaces it at once (react to
   * slowness immediately); otherwise it decays toward the sample with weight
   * exp(-elapsed / decay).
   */
  observeLatency(sampleUs: f64, nowNs: u64, decayNs: f64): void {
    const ewmaUs = this.ewmaUs;
    const stampNs = this.ewmaStampNs;
    if (ewmaUs == 0 || sampleUs >= ewmaUs || nowNs <= stampNs) {
      this.ewmaUs = sampleUs > ewmaUs || ewmaUs == 0 ? sampleUs : ewmaUs;
    } else {
      const w = Math.exp(-(<f64>(nowNs - stampNs)) / decayNs);
      this.ewmaUs = ewmaUs * w + sampleUs * (1 - w);
    }
    if (nowNs > stampNs) this.ewmaStampNs = nowNs;
  }

  /** The EWMA as seen at `nowNs`: an idle endpoint's cost fades so it gets retried. */
  ewmaAt(nowNs: u64, decayNs: f64): f64 {
    const ewmaUs = this.ewmaUs;
    const stampNs = this.ewmaStampNs;
    if (ewmaUs == 0 || nowNs <= stampNs) return ewmaUs;
    return ewmaUs * Math.exp(-(<f64>(nowNs - stampNs)) / decayNs);
  }
}
