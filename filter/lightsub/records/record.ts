// One endpoint's handle on its shared-data record: the key, the last state this
// worker read or wrote, and the VM-wide slot of its endpoint cluster. The
// Endpoint of a configuration (../destination.ts) is one; so is the bare
// handle that settles a retired endpoint's record (retire.ts).
import { SHARED_KEY_PREFIX } from "../base/wire";
import { EndpointSlot, slotFor } from "./slots";
import { EndpointState } from "./state";

export class EndpointRecord {
  /** Shared-data key SHARED_KEY_PREFIX + cluster. */
  sharedKey: ArrayBuffer;
  /** Last state read from (or written to) shared data by this worker. */
  state: EndpointState = new EndpointState();
  /** VM-wide state of this endpoint cluster, shared with other configurations' Endpoint objects. */
  slot: EndpointSlot;
  /** The slot's generation when this configuration enlisted it (slots.ts, retire.ts). */
  generation: u32 = 0;

  constructor(public cluster: string, public stat: string) {
    this.sharedKey = String.UTF8.encode(SHARED_KEY_PREFIX + cluster);
    this.slot = slotFor(cluster);
  }

  /**
   * In-flight changes this worker has not stored (worker-local claims and
   * releases: local.ts; writes that failed); folded into the next successful
   * write so the shared count never leaks. Kept per cluster, not per
   * configuration: a request scheduled before a reconfiguration may end after it.
   */
  get pendingInFlight(): i32 { return this.slot.pendingInFlight; }
  set pendingInFlight(v: i32) { this.slot.pendingInFlight = v; }

  /**
   * This worker's view of the record's ejection (ejectedUntilMs as last read
   * or written): while it lies ahead, strategies pass the endpoint over
   * without reading its record (records/shared.ts acquireUnlessEjected). Kept
   * per cluster like pendingInFlight.
   */
  get outUntilMs(): u64 { return this.slot.outUntilMs; }
  set outUntilMs(v: u64) { this.slot.outUntilMs = v; }

  /**
   * Whether this object's outcomes still belong in the shared history: not
   * after the endpoint was removed from every configuration of this VM or
   * re-configured with another address (its history was reset then).
   */
  get recordsHistory(): bool { return this.slot.users > 0 && this.slot.generation == this.generation; }
}
