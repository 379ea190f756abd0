// HTTP streams through the plugin: lifecycle, local replies, pausing and resuming
// (also from a tick through proxy_set_effective_context), resets, bodies, and traps
// contained as Envoy contains them (fail open / fail closed).
import { describe, expect, it } from "vitest";
import { Envoy, WasmResult } from "../../host/index.js";
import { arg, events, int64Of, okBytes, probeVm, take, takeResults, textOf } from "../support/probe.js";

describe("lifecycle", () => {
  it("creates the stream context under the root, then headers, log, done, delete", async () => {
    const { envoy, vm } = await probeVm();
    const before = events(envoy).length;
    const s = vm.createStream();
    expect(s.onRequestHeaders({ ":path": "/", ":method": "GET" }, true)).toBe("Continue");
    expect(s.onResponseHeaders({ ":status": "200" }, false)).toBe("Continue");
    expect(s.onResponseBody("ok", true)).toBe("Continue");
    s.end({ responseCode: 200 });
    expect(events(envoy).slice(before)).toEqual([
      "context_create|2,1",
      "request_headers|2,2,1",
      "response_headers|2,1,0",
      "response_body|2,2,1",
      "log|2",
      "done|2",
      "delete|2",
    ]);
    expect(s.responseBody).toEqual(new TextEncoder().encode("ok"));
    expect(vm.activeStreams).toBe(0);
    // The context is gone: it cannot be made effective any more.
    take(envoy);
    vm.createStream().onRequestHeaders({ "x-probe": "effective 2" }, true);
    expect(takeResults(envoy)).toEqual([`${WasmResult.BadArgument}`]);
  });

  it("answers StopIteration for every stop status; Continue only for Continue", async () => {
    const { vm } = await probeVm();
    for (const [ret, status] of [
      ["0", "Continue"],
      ["1", "StopAllIterationAndWatermark"], // StopIteration is widened by Envoy (ABI 0.2.x default)
      ["2", "Continue"], // ContinueAndEndStream
      ["3", "StopAllIterationAndBuffer"],
      ["4", "StopAllIterationAndWatermark"],
      ["9", "StopAllIterationAndWatermark"],
    ] as const) {
      const s = vm.createStream();
      const r = s.onRequestHeaders({ "x-probe": `ret ${ret}` }, true);
      expect(s.lastStatus).toBe(status);
      expect(r).toBe(status === "Continue" ? "Continue" : "StopIteration");
      expect(s.requestPaused).toBe(r === "StopIteration");
    }
  });
});

describe("local replies", () => {
  it("keeps the module's content-type and sets content-length in place of the module's (as Envoy 1.40)", async () => {
    const { vm } = await probeVm();
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe": `local 422 bad ${arg("{}")} content-length 99 content-type application/json` }, true);
    expect(s.localReply?.headers).toEqual([
      [":status", "422"],
      ["content-length", "2"],
      ["content-type", "application/json"],
    ]);
  });

  it("response.grpc_status of a non-gRPC response is derived from the HTTP status (as Envoy 1.40)", async () => {
    const { envoy, vm } = await probeVm();
    const codes: string[] = [];
    for (const status of [200, 400, 503]) {
      take(envoy);
      const s = vm.createStream();
      s.onRequestHeaders({ ":path": "/", "x-probe-log": "prop response.grpc_status" }, true);
      s.onResponseHeaders({ ":status": String(status) }, true);
      s.end({ responseCode: status });
      codes.push(...takeResults(envoy));
    }
    expect(codes.map((c) => int64Of(okBytes(c)))).toEqual([2n, 13n, 14n]);
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-log": "prop response.grpc_status" }, true);
    s.onResponseHeaders({ ":status": "200", "grpc-status": "5" }, true);
    s.end({ responseCode: 200 });
    expect(int64Of(okBytes(takeResults(envoy)[0]!))).toBe(5n);
  });

  it("records the reply and runs its headers and body through the filter's response callbacks", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    const r = s.onRequestHeaders(
      {
        ":path": "/",
        "x-probe": `local 429 ${arg("rate limited")} ${arg("slow down")} X-A 1;ret 0`,
        "x-probe-response": "hget resp :status;hget resp x-a",
        "x-probe-respbody": "buf respbody 0 100",
        "x-probe-log": "prop response.code;prop response.code_details",
      },
      true,
    );
    // Even though the module returned Continue, a local reply stops iteration.
    expect(r).toBe("StopIteration");
    expect(s.localReply).toMatchObject({
      status: 429,
      details: "rate_limited",
      body: "slow down",
      // As Envoy 1.40 (test/e2e/conformance-probe.test.ts): the module's headers right after :status.
      headers: [
        [":status", "429"],
        ["x-a", "1"],
        ["content-length", "9"],
        ["content-type", "text/plain"],
      ],
    });
    expect(s.responseHeaders.get(":status")).toBe("429");
    s.end();
    const results = takeResults(envoy);
    expect(results.slice(0, 4)).toEqual(["0", "ok", "0:429", "0:1"]);
    expect(results[4]).toBe("0:slow down");
    expect(int64Of(okBytes(results[5]!))).toBe(429n);
    expect(textOf(okBytes(results[6]!))).toBe("rate_limited");
  });

  it("answers a gRPC request with a trailers-only gRPC response", async () => {
    const { vm } = await probeVm();
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/pkg.Svc/M", "content-type": "application/grpc", "x-probe": "localgrpc 503 14 no_backend" }, true);
    expect(s.localReply?.grpcStatus).toBe(14);
    expect(s.responseHeaders.toObject()).toEqual({ ":status": "200", "content-type": "application/grpc", "grpc-status": "14" });
  });

  it("gRPC local reply: module headers after :status, grpc-message encoded as Envoy 1.40 does (printable ASCII kept)", async () => {
    const { vm } = await probeVm();
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/pkg.Svc/M", "content-type": "application/grpc", "x-probe": `localgrpc 503 5 d ${arg("not here%\né")} x-a b` }, true);
    expect(s.responseHeaders.toPairs()).toEqual([
      [":status", "200"],
      ["x-a", "b"],
      ["content-type", "application/grpc"],
      ["grpc-status", "5"],
      ["grpc-message", "not here%25%0A%C3%A9"],
    ]);
    expect(s.responseBody.byteLength).toBe(0);
  });
});

describe("pause and resume", () => {
  it("a tick resumes a paused stream through proxy_set_effective_context", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=tick 10\ntick=resumeall" });
    take(envoy);
    const s = vm.createStream();
    expect(s.onRequestHeaders({ ":path": "/", "x-probe": "pause" }, true)).toBe("StopIteration");
    expect(s.paused).toBe(true);
    envoy.advance(10);
    // id:effective:add-header:continue
    expect(take(envoy).filter((r) => r.phase === "tick").map((r) => r.result)).toEqual([`${s.id}:0:0:0`]);
    expect(s.requestPaused).toBe(false);
    expect(s.continueCount).toBe(1);
    expect(s.requestHeaders.get("x-resumed")).toBe("yes");
  });

  it("a tick can answer a paused stream with a local reply", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=tick 5\ntick=localall 403" });
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe": "pause", "x-probe-response": "hget resp :status" }, true);
    take(envoy);
    envoy.advance(5);
    expect(s.localReply).toMatchObject({ status: 403, details: "from_tick" });
    expect(takeResults(envoy)).toEqual([`${s.id}:0:0`, "0:403"]);
  });

  it("an ended stream can no longer be made effective", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=tick 5\ntick=resumeall" });
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe": "pause" }, true);
    s.end({ responseCode: 0 });
    take(envoy);
    envoy.advance(5);
    // effective → BadArgument; the root context then has no request headers.
    expect(takeResults(envoy)).toEqual([`${s.id}:${WasmResult.BadArgument}:${WasmResult.BadArgument}:0`]);
    expect(s.continueCount).toBe(0);
  });

  it("continuing from inside the pausing callback counts and does not hold the request (as Envoy 1.40)", async () => {
    const { vm } = await probeVm();
    const s = vm.createStream();
    expect(s.onRequestHeaders({ "x-probe": "pause;continue request" }, true)).toBe("Continue");
    expect(s.continueCount).toBe(1);
    expect(s.requestPaused).toBe(false);
    // The continue was for that callback only: a later stop holds.
    expect(s.onRequestTrailers({ "x-t": "1" })).toBe("Continue");
  });

  it("a response-side continue from inside the pausing response callback does not release the response (as Envoy 1.40)", async () => {
    const { vm } = await probeVm();
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-response": "continue response;ret 1" }, true);
    expect(s.onResponseHeaders({ ":status": "200" }, false)).toBe("StopIteration");
    expect(s.continueCount).toBe(1);
    expect(s.responsePaused).toBe(true);
  });

  it("a continue from a tick (not inside the stream's callback) still releases a later pause only when called", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=tick 10\ntick=resumeall" });
    const s = vm.createStream();
    expect(s.onRequestHeaders({ "x-probe": "pause" }, true)).toBe("StopIteration");
    envoy.advance(10);
    expect(s.requestPaused).toBe(false);
    expect(s.onResponseHeaders({ ":status": "200", "x-probe": "pause" }, true)).toBe("StopIteration");
    expect(s.responsePaused).toBe(true);
  });

  it("proxy_close_stream resets the stream; later callbacks do not reach the module", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe": "close request", "x-probe-log": "prop response.code_details" }, true);
    expect(s.reset).toBe(true);
    const before = events(envoy).length;
    expect(s.onResponseHeaders({ ":status": "200" }, true)).toBe("StopIteration");
    expect(events(envoy).length).toBe(before);
    s.end();
    expect(textOf(okBytes(takeResults(envoy)[1]!))).toBe("wasm_close_stream");
  });
});

describe("bodies", () => {
  it("exposes the body during its callback and applies the module's edits", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-reqbody": "buf reqbody 0 100;setbuf reqbody 0 0 PRE-;bufstatus reqbody;setbuf reqbody 99 0 -POST;setbuf reqbody 2 0 x" }, false);
    expect(s.onRequestBody("hello", true)).toBe("Continue");
    expect(takeResults(envoy)).toEqual(["0:hello", "0", "0:9:0", "0", `${WasmResult.BadArgument}`]);
    expect(new TextDecoder().decode(s.requestBody)).toBe("PRE-hello-POST");
  });

  it("accumulates chunks while the module buffers (StopIterationAndBuffer)", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-reqbody": "bufstatus reqbody;ret 1" }, false);
    expect(s.onRequestBody("abc", false)).toBe("StopIteration");
    expect(s.lastStatus).toBe("StopIterationAndBuffer");
    s.onRequestBody("defg", true);
    expect(takeResults(envoy)).toEqual(["0:3:0", "ok", "0:7:0", "ok"]);
  });
});

describe("traps", () => {
  it("fail open: the trapping request fails closed (as Envoy 1.40), the VM is failed, later streams skip the plugin", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=tick 10\ntick=now" });
    const s = vm.createStream();
    let status: string | undefined;
    expect(() => {
      status = s.onRequestHeaders({ ":path": "/", "x-probe": "trap" }, true);
    }).not.toThrow();
    expect(status).toBe("StopIteration");
    expect(s.localReply).toMatchObject({ status: 503, details: "wasm_fail_stream" });
    expect(vm.failed).toBe(true);
    expect(vm.failState).toBe("RuntimeError");
    expect(vm.trap).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(envoy.logs.some((l) => l.level === "error" && /^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable$/.test(l.message))).toBe(true);
    // Nothing reaches the module any more: no host calls, no ticks, no log callbacks.
    const calls = envoy.hostCalls;
    const seen = events(envoy).length;
    s.end({ responseCode: 200 });
    const next = vm.createStream();
    expect(next.onRequestHeaders({ ":path": "/" }, true)).toBe("Continue");
    expect(next.localReply).toBeUndefined();
    next.end({ responseCode: 200 });
    envoy.advance(100);
    expect(envoy.hostCalls).toBe(calls);
    expect(events(envoy).length).toBe(seen);
    expect(vm.configure("")).toBe(false);
  });

  it("fail closed: the trapping request and later ones get a 503 local reply", async () => {
    const { vm } = await probeVm({ configure: { failOpen: false } });
    const s = vm.createStream();
    expect(s.onRequestHeaders({ ":path": "/", "x-probe": "oob" }, true)).toBe("StopIteration");
    expect(String((vm.trap as Error).message)).toMatch(/out of bounds/);
    expect(s.localReply).toMatchObject({ status: 503, details: "wasm_fail_stream", body: "" });
    const next = vm.createStream();
    expect(next.onRequestHeaders({ ":path": "/" }, true)).toBe("StopIteration");
    expect(next.localReply?.status).toBe(503);
    expect(next.onResponseHeaders({ ":status": "200" }, true)).toBe("Continue");
  });

  it("contains traps in other callbacks, proc_exit, aborts and the allocator", async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["response", { "x-probe-response": "trap" }, /proxy_on_response_headers failed/],
      ["log", { "x-probe-log": "trap" }, /proxy_on_log failed/],
      ["exit", { "x-probe": "exit" }, /proc_exit\(3\)/],
      ["abort", { "x-probe": "throw" }, /proxy_on_request_headers failed/],
      ["alloc", { "x-probe": "alloctrap;hget req :path" }, /proxy_on_memory_allocate failed/],
    ];
    for (const [name, headers, message] of cases) {
      const { envoy, vm } = await probeVm();
      take(envoy);
      const s = vm.createStream();
      expect(() => {
        s.onRequestHeaders({ ":path": "/", ...headers }, true);
        s.onResponseHeaders({ ":status": "200" }, true);
        s.end({ responseCode: 200 });
      }, name).not.toThrow();
      expect(vm.failed, name).toBe(true);
      expect(envoy.logs.some((l) => message.test(l.message)), name).toBe(true);
      if (name === "abort") expect(envoy.logs.some((l) => l.level === "critical" && l.message.startsWith("abort: probe throws"))).toBe(true);
      // The host call that needed the allocator failed cleanly.
      if (name === "alloc") expect(takeResults(envoy)).toContain(`${WasmResult.InvalidMemoryAccess}`);
    }
  });

  it("a stream created after the failure with fail open never gets a context", async () => {
    const { vm } = await probeVm();
    vm.createStream().onRequestHeaders({ "x-probe": "trap" }, true);
    const s = vm.createStream();
    expect(s.id).toBe(0);
    expect(s.onRequestBody("x", true)).toBe("Continue");
    expect(new TextDecoder().decode(s.requestBody)).toBe("x");
  });
});

describe("host calls", () => {
  it("counts every host function call", async () => {
    const envoy = new Envoy();
    const { vm } = await probeVm({ envoy });
    const before = envoy.hostCalls;
    vm.createStream().onRequestHeaders({ "x-probe": "now;now;now" }, true);
    // context_create event log + 8 remembered-phase header lookups + x-probe lookup
    // + 3 × proxy_get_current_time_nanoseconds + 4 logs (request event + 3 results)
    expect(envoy.hostCalls - before).toBe(1 + 8 + 1 + 3 + 4);
  });
});
