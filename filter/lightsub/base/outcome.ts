// How a scheduled request ended, from Envoy's response.code and response.flags
// (the flag bits are in wire.ts).
import {
  FLAG_DURATION_TIMEOUT, FLAG_LOCAL_RESET, FLAG_STREAM_IDLE_TIMEOUT, FLAG_UPSTREAM_CONNECTION_FAILURE,
  FLAG_UPSTREAM_CONNECTION_TERMINATION, FLAG_UPSTREAM_MAX_STREAM_DURATION_REACHED, FLAG_UPSTREAM_PROTOCOL_ERROR,
  FLAG_UPSTREAM_REMOTE_RESET, FLAG_UPSTREAM_REQUEST_TIMEOUT,
} from "./wire";

const TIMEOUT_FLAGS: u64 = FLAG_UPSTREAM_REQUEST_TIMEOUT | FLAG_STREAM_IDLE_TIMEOUT |
  FLAG_UPSTREAM_MAX_STREAM_DURATION_REACHED | FLAG_DURATION_TIMEOUT;
const RESET_FLAGS: u64 = FLAG_LOCAL_RESET | FLAG_UPSTREAM_REMOTE_RESET | FLAG_UPSTREAM_CONNECTION_FAILURE |
  FLAG_UPSTREAM_CONNECTION_TERMINATION | FLAG_UPSTREAM_PROTOCOL_ERROR;

export enum Outcome {
  Ok,
  ServerError, // 5xx
  Reset,
  Timeout,
  /** Ended without any response (e.g. the client went away). */
  NoResponse,
  /**
   * Answered without error, but by another endpoint than the scheduled one:
   * Envoy retried elsewhere or found the endpoint unhealthy (failover,
   * docs/design.md). The scheduled endpoint failed it.
   */
  FailedOver,
}

/**
 * Timeouts win over resets (a timed-out request is reset too), resets over the
 * status code (Envoy answers a reset with a local 503), then 5xx, then "no response"
 * for code 0. Everything else (1xx-4xx) is Ok.
 */
export function classify(responseCode: u64, responseFlags: u64): Outcome {
  if ((responseFlags & TIMEOUT_FLAGS) != 0) return Outcome.Timeout;
  if ((responseFlags & RESET_FLAGS) != 0) return Outcome.Reset;
  if (responseCode >= 500 && responseCode <= 599) return Outcome.ServerError;
  if (responseCode == 0) return Outcome.NoResponse;
  return Outcome.Ok;
}

/**
 * Whether classify needs the response flags for this ending (else they are
 * known not to change the outcome, and reading them is one host call saved
 * per request). Needed for no response (0), 5xx (a reset or timeout is told
 * apart from a plain 5xx), 408 (Envoy's local reply to a stream idle or
 * duration timeout), and any response that did not end normally through the
 * filter (`responseEnded`: end of stream seen on the response; a reset after
 * the response headers leaves e.g. a 200 with a reset flag). A 1xx-4xx
 * response that ended normally carries no reset or timeout flag.
 */
export function flagsMatter(responseCode: u64, responseEnded: bool): bool {
  return !responseEnded || responseCode == 0 || responseCode >= 500 || responseCode == 408;
}

/** Counts against the endpoint's availability (the endpoint's fault, as far as we can tell). */
export function isEndpointFailure(outcome: Outcome): bool {
  return outcome == Outcome.ServerError || outcome == Outcome.Reset || outcome == Outcome.Timeout || outcome == Outcome.FailedOver;
}
