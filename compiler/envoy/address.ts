import { isIP } from "node:net";
import type { JsonObject } from "./json.js";

/** `{ socket_address: { address, port_value } }` (core.v3.Address). */
export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

/** True for an IPv4/IPv6 literal, which a STATIC cluster can hold; hostnames need DNS. */
export function isIpLiteral(address: string): boolean {
  return isIP(address) !== 0;
}
