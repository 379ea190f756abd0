// consistent_hash: a hash ring with virtual nodes (count proportional to each
// endpoint's weight), built at configure time; a request's key (a header, a
// cookie or the path without query) is hashed and served by the first ring
// point at or after it. Adding an endpoint only moves the keys that land on its
// new points. A request without a key goes to the least loaded endpoint.
// A key whose endpoint is ejected goes to the next endpoint on the ring that
// is not (strategy.ts), so keys stay sticky meanwhile and come back when it
// heals.
import { HeaderMapType, WasmResult, getHeaderRaw, releaseReturned, returnedPtr, returnedSize } from "../../proxy-wasm/index";
import { HashSource } from "../config/plugin";
import { fnv1a, hashKey, ringPoint } from "../base/hash";
import { Destination } from "../destination";
import { Pick } from "../base/pick";
import { claim, isOut } from "./claim";
import { pickLeastLoaded } from "./least-load";
import { WeightSampler } from "./weight-sampler";
import { Strategy } from "./strategy";

/** Virtual nodes per unit of weight, and the cap on the whole ring. */
const POINTS_PER_WEIGHT: i32 = 160;
const MAX_RING_POINTS: i32 = 40960;

export class ConsistentHash extends Strategy {
  points: StaticArray<u32>;
  owners: StaticArray<u16>;
  /** For requests without a key (least load per unit of weight). */
  sampler: WeightSampler;

  constructor(destination: Destination) {
    super();
    this.sampler = new WeightSampler(destination);
    const endpoints = destination.endpoints;
    let totalWeight: i64 = 0;
    for (let i = 0; i < endpoints.length; i++) totalWeight += endpoints[i].weight;
    let perWeight = <f64>POINTS_PER_WEIGHT;
    if (totalWeight * POINTS_PER_WEIGHT > MAX_RING_POINTS) perWeight = <f64>MAX_RING_POINTS / <f64>totalWeight;
    // Sort (point << 16 | owner) as one integer: points ascending, ties by owner.
    const entries = new Array<u64>();
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i];
      let count = <i32>(<f64>ep.weight * perWeight);
      if (count < 1) count = 1;
      const nameHash = fnv1a(changetype<usize>(ep.clusterBytes), <usize>ep.clusterBytes.byteLength);
      for (let r = 0; r < count; r++) entries.push((<u64>ringPoint(nameHash, <u32>r) << 16) | <u64>i);
    }
    entries.sort((x: u64, y: u64): i32 => (x < y ? -1 : x > y ? 1 : 0));
    this.points = new StaticArray<u32>(entries.length);
    this.owners = new StaticArray<u16>(entries.length);
    for (let k = 0; k < entries.length; k++) {
      this.points[k] = <u32>(entries[k] >> 16);
      this.owners[k] = <u16>(entries[k] & 0xffff);
    }
  }

  /** The request's ring point (lookup); -1 once the ring was walked round without a choice. */
  at: i32 = 0;
  /** The request had no key (least load instead of the ring). */
  keyless: bool = false;

  /** Endpoint owning the first ring point >= hash (wrapping around); remembers the point. */
  lookup(hash: u32): i32 {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    if (lo == points.length) lo = 0;
    this.at = lo;
    return <i32>this.owners[lo];
  }

  /** The next endpoint along the ring after the request's point that is not known ejected, claimed. */
  nextOnRing(destination: Destination): i32 {
    const count = this.points.length;
    let at = this.at;
    if (at < 0) return Pick.SetAside;
    for (let k = 1; k < count; k++) {
      at = at + 1 == count ? 0 : at + 1;
      const owner = <i32>unchecked(this.owners[at]);
      if (!isOut(destination, owner)) {
        this.at = at;
        return claim(destination, owner, false);
      }
    }
    this.at = -1;
    return Pick.SetAside;
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    if (attempt > 0) return this.keyless ? pickLeastLoaded(destination, this.sampler) : this.nextOnRing(destination);
    this.keyless = true;
    if (getHeaderRaw(HeaderMapType.RequestHeaders, destination.hashHeaderBytes) != WasmResult.Ok) {
      releaseReturned();
      return pickLeastLoaded(destination, this.sampler);
    }
    let ptr = returnedPtr();
    let size = returnedSize();
    if (destination.hashSource == HashSource.Cookie) {
      const found = findCookie(ptr, size, destination.hashCookieBytes);
      size = found < 0 ? 0 : cookieValueSize;
      ptr = found < 0 ? 0 : <usize>found + ptr;
    } else if (destination.hashSource == HashSource.Path) {
      for (let i: usize = 0; i < size; i++) {
        const c = load<u8>(ptr + i);
        if (c == 0x3f || c == 0x23) { // ? or #
          size = i;
          break;
        }
      }
    }
    if (ptr == 0 || size == 0) {
      releaseReturned();
      return pickLeastLoaded(destination, this.sampler);
    }
    const hash = hashKey(ptr, size);
    releaseReturned();
    this.keyless = false;
    return claim(destination, this.lookup(hash), false);
  }
}

/** Size of the value found by the last findCookie. */
let cookieValueSize: usize = 0;

function isCookieSpace(c: u32): bool {
  return c == 0x20 || c == 0x09;
}

/**
 * Finds cookie `name` in a Cookie header value ("a=1; b=2"). Returns the
 * value's offset in the header (sets cookieValueSize; surrounding double quotes
 * removed), or -1.
 */
function findCookie(ptr: usize, size: usize, name: ArrayBuffer): isize {
  const nameSize = <usize>name.byteLength;
  let i: usize = 0;
  while (i < size) {
    while (i < size && (isCookieSpace(load<u8>(ptr + i)) || load<u8>(ptr + i) == 0x3b)) i++;
    const pairStart = i;
    while (i < size && load<u8>(ptr + i) != 0x3b) i++;
    const pairEnd = i; // exclusive, at ';' or end
    let eq = pairStart;
    while (eq < pairEnd && load<u8>(ptr + eq) != 0x3d) eq++;
    if (eq == pairEnd) continue;
    let nameEnd = eq;
    while (nameEnd > pairStart && isCookieSpace(load<u8>(ptr + nameEnd - 1))) nameEnd--;
    if (nameEnd - pairStart != nameSize || memory.compare(ptr + pairStart, changetype<usize>(name), nameSize) != 0) continue;
    let valueStart = eq + 1;
    let valueEnd = pairEnd;
    while (valueStart < valueEnd && isCookieSpace(load<u8>(ptr + valueStart))) valueStart++;
    while (valueEnd > valueStart && isCookieSpace(load<u8>(ptr + valueEnd - 1))) valueEnd--;
    if (valueEnd - valueStart >= 2 && load<u8>(ptr + valueStart) == 0x22 && load<u8>(ptr + valueEnd - 1) == 0x22) {
      valueStart++;
      valueEnd--;
    }
    cookieValueSize = valueEnd - valueStart;
    return <isize>valueStart;
  }
  return -1;
}
