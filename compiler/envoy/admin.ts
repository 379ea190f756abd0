/** The admin interface: loopback only, never another address (it can change and stop Envoy). */
import { socketAddress } from "./address.js";
import type { JsonObject } from "./json.js";

const ADMIN_ADDRESS = "127.0.0.1";

export function admin(adminPort: number): JsonObject {
  return { address: socketAddress(ADMIN_ADDRESS, adminPort) };
}
