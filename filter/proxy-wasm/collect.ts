// Garbage collection at safe points (the module is built with asc's minimal
// runtime: a non-incremental mark & sweep that never runs by itself).
//
// The minimal runtime keeps no shadow stack, so __collect may only run while
// no managed reference lives in a Wasm local: between host callbacks. Every
// exported proxy_on_* callback except proxy_on_memory_allocate brackets its
// work with enterCallback()/leaveCallback(); collection happens when the
// outermost one returns (depth 0), so a callback the host might run inside
// another (re-entrancy) never collects under its caller. Without the shadow
// stack the module is about 40 % smaller and every call is cheaper; the price
// is a full mark & sweep now and then, paced below.

/** How many exported callbacks are running now, nested (0: none). */
let depth: i32 = 0;
/** Set by a callback that made much garbage (a configuration): collect when it returns. */
let collectPending = false;
let callbacksSinceCollect: i32 = 0;
/** Linear memory pages after the last collection. */
let pagesAfterCollect: i32 = 0;

/**
 * Callbacks between collections per 64 KiB page of linear memory: a
 * collection's cost grows with the heap, so the interval grows with it too
 * (amortized cost per callback stays flat, and a request's few hundred bytes
 * of garbage stay a bounded share of the heap). Measured with 32 × 256
 * endpoints: 16 cost ~25 % per request, 64 none (vs the incremental runtime).
 */
const CALLBACKS_PER_PAGE: i32 = 64;

export function enterCallback(): void {
  depth++;
}

/**
 * The running callback leaves much garbage (parsing a configuration makes
 * ~100 KB for 256 endpoints): collect as soon as the outermost callback returns.
 * Without this, garbage of rare big callbacks would make memory grow before the
 * callback count comes due, and the interval grows with memory.
 */
export function collectOnReturn(): void {
  collectPending = true;
}

export function leaveCallback(): void {
  if (--depth != 0) return;
  const pages = <i32>memory.size();
  // Memory grew since the last collection: garbage may be what filled it; collect now.
  if (collectPending || ++callbacksSinceCollect >= pages * CALLBACKS_PER_PAGE || pages > pagesAfterCollect) {
    __collect();
    collectPending = false;
    callbacksSinceCollect = 0;
    pagesAfterCollect = <i32>memory.size();
  }
}
