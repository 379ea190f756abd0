// VM-wide bookkeeping per endpoint cluster. Several plugins of one VM can
// schedule onto the same endpoint cluster: Envoy keeps an old plugin (root
// context) alive while its listener drains next to the new one, a VM serves
// several listeners, and a stream keeps the Endpoint object of the
// configuration it was scheduled with. Whatever belongs to the endpoint
// rather than to one configuration lives here, found by cluster name.
import { PendingOutcomes } from "./pending";

export class EndpointSlot {
  /**
   * In-flight changes this worker has not stored yet: the claims and releases
   * of worker-local destinations (local.ts), and any change whose write
   * failed; folded into the next successful write, whichever configuration
   * makes it.
   */
  pendingInFlight: i32 = 0;
  /** Finished requests whose outcome is not stored yet (shared.ts store), in the order they ended. */
  pending: PendingOutcomes = new PendingOutcomes();
  /**
   * This worker's view of the record's ejection (ejectedUntilMs as last read
   * or written): while it lies ahead, strategies pass the endpoint over
   * without reading its record (shared.ts acquireUnlessEjected).
   */
  outUntilMs: u64 = 0;
  /** This worker's view of the record (as last read or written) says: not ejected, no failure in a row. */
  clean: bool = false;
  /** This worker's last write of the record failed (host failure or CAS retries exhausted); a write that succeeds clears it. */
  storeFailed: bool = false;
  /** On the list of records the root's tick stores (local.ts). */
  tracked: bool = false;
  /** Configured plugins of this VM that schedule onto the endpoint. */
  users: i32 = 0;
  /** Metric label (address_port) the endpoint was last configured with: its identity. */
  stat: string = "";
  /** Bumped whenever the shared history was reset; older Endpoint objects then stop adding to it. */
  generation: u32 = 0;

  constructor(public cluster: string) {}
}

const slots = new Map<string, EndpointSlot>();

/** The slot of an endpoint cluster (created on first use; one per cluster name ever configured). */
export function slotFor(cluster: string): EndpointSlot {
  if (slots.has(cluster)) return slots.get(cluster);
  const slot = new EndpointSlot(cluster);
  slots.set(cluster, slot);
  return slot;
}

/** Slots of endpoints no configuration of this VM uses that still owe the shared record an in-flight change. */
export function retiredSlotsWithPending(): EndpointSlot[] {
  const out = new Array<EndpointSlot>();
  const all = slots.values();
  for (let i = 0; i < all.length; i++) {
    const slot = all[i];
    if (slot.users == 0 && slot.pendingInFlight != 0) out.push(slot);
  }
  return out;
}
