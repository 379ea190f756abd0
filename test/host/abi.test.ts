// Host functions answer like Envoy 1.40 (proxy-wasm-cpp-host exports.cc + Envoy context.cc):
// return codes, encodings and memory checks, exercised through the probe module.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Envoy,
  RESPONSE_FLAGS,
  WasmResult,
  decodePairs,
  encodePairs,
  type Stream,
  type Vm,
} from "../../host/index.js";
import { arg, hexToBytes, int64Of, okBytes, probeVm, take, takeResults, textOf } from "../support/probe.js";

const R = WasmResult;

/** Runs `commands` in proxy_on_request_headers of a new stream; returns [stream, results]. */
function request(
  envoy: Envoy,
  vm: Vm,
  commands: string,
  headers: [string, string][] = [],
  options: Parameters<Vm["createStream"]>[0] = {},
): [Stream, string[]] {
  take(envoy);
  const s = vm.createStream(options);
  s.onRequestHeaders([[":method", "GET"], [":path", "/p"], [":authority", "svc"], ...headers, ["x-probe", commands]], true);
  return [s, takeResults(envoy)];
}

/** Reference encoder written from the ABI text, independent of host/pairs.ts. */
function referencePairs(pairs: [string, string][]): Uint8Array {
  const enc = new TextEncoder();
  const parts = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  const size = 4 + parts.reduce((n, [k, v]) => n + 8 + k.length + 1 + v.length + 1, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, parts.length, true);
  parts.forEach(([k, v], i) => {
    dv.setUint32(4 + 8 * i, k.length, true);
    dv.setUint32(8 + 8 * i, v.length, true);
  });
  let at = 4 + 8 * parts.length;
  for (const [k, v] of parts) {
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  }
  return out;
}

describe("header maps", () => {
  it("answers NotFound for a missing header, BadArgument for a bad or unavailable map", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "hget req x-missing;hget 9 x;hget resp :status;hget req X-Present;hget req :path", [["x-present", "yes"]]);
    expect(r).toEqual([`${R.NotFound}`, `${R.BadArgument}`, `${R.BadArgument}`, "0:yes", "0:/p"]);
  });

  it("lower-cases names, keeps pseudo-headers first, replace removes every value", async () => {
    const { envoy, vm } = await probeVm();
    const [s, r] = request(envoy, vm, "hadd req X-Added One;hadd req :extra e;hadd req x-multi 2;hset req X-MULTI 3;hdel req x-gone", [
      ["x-multi", "1"],
      ["x-gone", "bye"],
    ]);
    expect(r).toEqual(["0", "0", "0", "0", "0"]);
    const names = s.requestHeaders.pairs().map(([k]) => k);
    expect(names.slice(0, 4)).toEqual([":method", ":path", ":authority", ":extra"]);
    expect(s.requestHeaders.get("x-added")).toBe("One");
    expect(s.requestHeaders.getAll("x-multi")).toEqual(["3"]);
    expect(s.requestHeaders.has("x-gone")).toBe(false);
  });

  it("reports the map's byte size (names + values) as Envoy does", async () => {
    const { envoy, vm } = await probeVm();
    const [s, r] = request(envoy, vm, "hsize req");
    const expected = s.requestHeaders.pairs().reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(r).toEqual([`0:${expected}`]);
  });

  it("serializes pairs in the ABI format and reads them back (host ↔ module round trip)", async () => {
    const { envoy, vm } = await probeVm();
    const tricky: [string, string][] = [
      ["x-empty", ""],
      ["x-utf8", "héllo ✓ 𝄞"],
      ["x-chars", "a=b&c;d e%"],
    ];
    take(envoy);
    const s = vm.createStream();
    const headers: [string, string][] = [[":path", "/"], ...tricky, ["x-probe", "hpairsraw req;hpairs req"]];
    s.onRequestHeaders(headers, true);
    const [raw, decoded] = takeResults(envoy);
    // The host's bytes are exactly the reference encoding of the map.
    expect(okBytes(raw!)).toEqual(referencePairs(headers));
    // The module's own decoder (written from the ABI) sees the same pairs.
    const expectedDecoded = headers.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    expect(decoded).toBe(`0:${expectedDecoded}`);
    // The same bytes set as response headers come back as the same map.
    s.onResponseHeaders([[":status", "200"], ["x-probe", `hsetraw resp ${raw!.slice(2)}`]], true);
    expect(takeResults(envoy)).toEqual(["0"]);
    expect(s.responseHeaders.toPairs()).toEqual(headers);
  });

  it("sets pairs the module encoded, lower-casing names", async () => {
    const { envoy, vm } = await probeVm();
    const [s, r] = request(envoy, vm, `hsetpairs req :path /new X-One 1 x-two ${arg("two words")}`);
    expect(r).toEqual(["0"]);
    expect(s.requestHeaders.toPairs()).toEqual([
      [":path", "/new"],
      ["x-one", "1"],
      ["x-two", "two words"],
    ]);
  });

  it("treats a malformed pairs buffer as no pairs (the map is emptied)", async () => {
    const { envoy, vm } = await probeVm();
    // count = 5 but no sizes follow.
    const [s, r] = request(envoy, vm, "hsetraw req 05000000");
    expect(r).toEqual(["0"]);
    expect(s.requestHeaders.size).toBe(0);
  });

  it("releases request headers once the filter continues: BadArgument afterwards", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-response": "hget req :path;hadd req x-late 1;hget resp :status" }, true);
    s.onResponseHeaders({ ":status": "200" }, true);
    expect(takeResults(envoy)).toEqual([`${R.BadArgument}`, `${R.BadArgument}`, "0:200"]);
    expect(s.requestHeaders.has("x-late")).toBe(false);
  });

  it("reads final maps in proxy_on_log and answers NotFound there for a missing map", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/x", "x-probe-log": "hget req :path;hget resp :status;hget reqtr a;hadd req x 1" }, true);
    s.onResponseHeaders({ ":status": "201" }, true);
    s.end({ responseCode: 201 });
    expect(takeResults(envoy)).toEqual(["0:/x", "0:201", `${R.NotFound}`, `${R.BadArgument}`]);
  });

  it("pairs codec: decode(encode(p)) = p and matches the reference encoding", () => {
    // 1-, 2-, 3- and 4-byte UTF-8 characters, separators and NUL (lengths, not terminators, delimit).
    const unit = fc.constantFrom("a", "Z", "-", ":", "=", "&", " ", "é", "✓", "𝄞", "\u0000");
    const text = fc.string({ unit, maxLength: 12 });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 8 }), (pairs) => {
        const bytes = encodePairs(pairs);
        expect(bytes).toEqual(referencePairs(pairs));
        expect(decodePairs(bytes)).toEqual(pairs);
      }),
      { numRuns: 200 },
    );
    expect(decodePairs(new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 97, 1, 98, 0]))).toBeNull(); // key not NUL-terminated
  });
});

describe("properties", () => {
  it("encodes strings as bytes and integers as 8-byte little-endian", async () => {
    const { envoy, vm } = await probeVm({ envoyOptions: { startTimeMs: 1_700_000_000_123 } });
    const [, r] = request(
      envoy,
      vm,
      "prop xds.cluster_name;prop upstream.port;prop connection.mtls;prop request.path;prop request.url_path;prop request.query;prop request.host;prop request.method;prop request.headers.x-user;prop request.time;prop plugin_name;prop plugin_root_id;prop plugin_vm_id;prop request.protocol",
      [["x-user", "ann"]],
      { properties: { "xds.cluster_name": "catalog", "upstream.port": 9090, "connection.mtls": true } },
    );
    const values = r.map(okBytes);
    expect(textOf(values[0]!)).toBe("catalog");
    expect(int64Of(values[1]!)).toBe(9090n);
    expect(values[1]!.length).toBe(8);
    expect([...values[2]!]).toEqual([1]);
    expect(values.slice(3, 9).map(textOf)).toEqual(["/p", "/p", "", "svc", "GET", "ann"]);
    expect(int64Of(values[9]!)).toBe(1_700_000_000_123_000_000n);
    expect(values.slice(10).map(textOf)).toEqual(["lightsub", "lightsub", "lightsub", "HTTP/1.1"]);
  });

  it("answers NotFound for unknown paths and for a dotted name passed as one segment", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "prop no.such.thing;propraw xds.cluster_name;prop xds.cluster_name.deeper;prop response.code", [], {
      properties: { "xds.cluster_name": "c" },
    });
    expect(r).toEqual([`${R.NotFound}`, `${R.NotFound}`, `${R.NotFound}`, `${R.NotFound}`]);
  });

  it("gives response.code, response.flags and response.code_details in proxy_on_log", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-log": "prop response.code;prop response.flags;prop response.code_details;prop request.duration" }, true);
    envoy.advance(25);
    s.end({ responseCode: 504, responseFlags: RESPONSE_FLAGS.UpstreamRequestTimeout, responseCodeDetails: "upstream_response_timeout" });
    const [code, flags, details, duration] = takeResults(envoy).map(okBytes);
    expect(int64Of(code!)).toBe(504n);
    expect(int64Of(flags!)).toBe(0x4n);
    expect(textOf(details!)).toBe("upstream_response_timeout");
    expect(int64Of(duration!)).toBe(25_000_000n);
  });

  it("has no response.code for a stream that ended without a response, but has its flags", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/", "x-probe-log": "prop response.code;prop response.flags" }, true);
    s.end({ responseCode: 0, responseFlags: RESPONSE_FLAGS.UpstreamRemoteReset | RESPONSE_FLAGS.UpstreamConnectionTermination });
    const [code, flags] = takeResults(envoy);
    expect(code).toBe(`${R.NotFound}`);
    expect(int64Of(okBytes(flags!))).toBe(0x50n);
  });

  it("stores proxy_set_property values on the stream; a root context has nowhere to store them", async () => {
    const { envoy, vm } = await probeVm({ config: "configure=setprop foo bar" });
    expect(takeResults(envoy)).toEqual([`${R.NotFound}`]);
    const [, r] = request(envoy, vm, `setprop my.key ${arg("v a l")};prop my.key;setprop flat x;prop flat`);
    expect(r[0]).toBe("0");
    // Envoy looks stored values up by the path's first segment only.
    expect(r[1]).toBe(`${R.NotFound}`);
    expect(r[2]).toBe("0");
    expect(textOf(okBytes(r[3]!))).toBe("x");
  });

  it("loses request.* after the request headers were released (response phase)", async () => {
    const { envoy, vm } = await probeVm();
    take(envoy);
    const s = vm.createStream();
    s.onRequestHeaders({ ":path": "/q", "x-probe-response": "prop request.path;prop response.code;prop response.headers.x-r" }, true);
    s.onResponseHeaders({ ":status": "202", "x-r": "rv" }, true);
    const [path, code, header] = takeResults(envoy);
    expect(path).toBe(`${R.NotFound}`);
    expect(int64Of(okBytes(code!))).toBe(202n);
    expect(textOf(okBytes(header!))).toBe("rv");
  });
});

describe("return codes", () => {
  it("shared data: NotFound, unconditional set with cas 0, CasMismatch on a stale cas", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "sget k;sset k one 0;sget k;sset k two 0;sset k three 1;sget k");
    expect(r[0]).toBe(`${R.NotFound}`);
    expect(r[1]).toBe("0");
    const cas1 = Number(r[2]!.split(":")[1]);
    expect(r[2]).toBe(`0:${cas1}:one`);
    expect(r[3]).toBe("0");
    expect(r[4]).toBe(`${R.CasMismatch}`);
    expect(r[5]).toBe(`0:${cas1 + 1}:two`);
    expect(envoy.sharedData.get("k")).toEqual({ value: new TextEncoder().encode("two"), cas: cas1 + 1 });
  });

  it("metrics: ids by type, counters refuse non-positive increments, gauges go down, histograms have no value", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(
      envoy,
      vm,
      "mdef 0 c;mdef 0 c2;mdef 1 g;mdef 2 h;mdef 3 x;minc c 3;minc c -1;minc c 0;mget c;minc g 5;minc g -7;mrec h 12;mget h;minc h 1;mget #400;mrec #400 1;minc #7 1;mrec g 9;mget g;mrec c 10;mget c",
    );
    expect(r).toEqual([
      "0:4",
      "0:8",
      "0:5",
      "0:6",
      `${R.BadArgument}`,
      "0",
      `${R.BadArgument}`,
      `${R.BadArgument}`,
      "0:3",
      "0",
      "0",
      "0",
      `${R.BadArgument}`,
      `${R.BadArgument}`,
      `${R.NotFound}`,
      `${R.NotFound}`,
      `${R.BadArgument}`,
      "0",
      "0:9",
      "0",
      "0:13",
    ]);
    expect(envoy.stats.histogram("h")).toEqual([12]);
  });

  it("a gauge below zero reads back wrapped, as Envoy's uint64 gauge does", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "mdef 1 g;minc g -2;mget g");
    expect(r[2]).toBe(`0:${2n ** 64n - 2n}`);
    expect(envoy.stats.get("g")).toBe(-2);
  });

  it("stream control and misc: bad types, unknown context, done, status, http_call", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "continue 9;continue upstream;continue downstream;close 9;effective 999;effective 0;log 9 x;done;status;httpcall somewhere");
    expect(r).toEqual([
      `${R.BadArgument}`,
      `${R.Unimplemented}`,
      "0",
      `${R.BadArgument}`,
      `${R.BadArgument}`,
      "0",
      `${R.BadArgument}`,
      `${R.NotFound}`,
      "0:0:",
      `${R.BadArgument}`,
    ]);
  });

  it("foreign functions: clear_route_cache counts per stream, unknown names are NotFound", async () => {
    const { envoy, vm } = await probeVm();
    const input = new TextEncoder().encode("compress me compress me compress me");
    const hex = Buffer.from(input).toString("hex");
    const [s, r] = request(envoy, vm, `ffi clear_route_cache;ffinull clear_route_cache;ffi no_such_function;ffi verify_signature;ffi compress ${hex}`);
    expect(r.slice(0, 4)).toEqual(["0:", "0", `${R.NotFound}:`, `${R.Unimplemented}:`]);
    expect(s.routeCacheClears).toBe(2);
    const compressed = r[4]!.split(":")[1]!;
    const [, back] = request(envoy, vm, `ffi uncompress ${compressed}`);
    expect(hexToBytes(back[0]!.split(":")[1]!)).toEqual(input);
  });

  it("buffers: VM configuration always, plugin configuration only while configuring", async () => {
    const { envoy, vm } = await probeVm({ vm: { vmConfig: "the-vm-config" }, config: "configure=buf config 0 100;bufstatus config" });
    const configured = takeResults(envoy);
    expect(configured[0]).toBe("0:configure=buf config 0 100;bufstatus config");
    expect(configured[1]).toBe(`0:${"configure=buf config 0 100;bufstatus config".length}:0`);
    const [, r] = request(envoy, vm, "buf config 0 10;buf vmconfig 4 2;buf vmconfig 100 5;bufstatus vmconfig;buf 9 0 1;setbuf vmconfig 0 0 x;buf reqbody 0 10");
    expect(r).toEqual([`${R.NotFound}`, "0:vm", "0:", "0:13:0", `${R.BadArgument}`, `${R.BadArgument}`, "0:"]);
  });

  it("log level: proxy_get_log_level reports Envoy's level and proxy_log drops what is below it", async () => {
    const { envoy, vm } = await probeVm({ envoyOptions: { logLevel: "warn" } });
    const s = vm.createStream();
    s.onRequestHeaders({ "x-probe": "log 1 dropped;log 3 kept;log 5 critical-one" }, true);
    expect(envoy.logs.map((l) => [l.level, l.message])).toEqual([
      ["warn", "kept"],
      ["critical", "critical-one"],
    ]);
    const debug = await probeVm({ envoyOptions: { logLevel: "debug" } });
    const [, r] = request(debug.envoy, debug.vm, "loglevel");
    expect(r).toEqual(["0:1"]);
  });
});

describe("memory checks", () => {
  it("answers InvalidMemoryAccess (WASI: EFAULT) for pointers outside memory, without failing the VM", async () => {
    const { envoy, vm } = await probeVm();
    const cases = ["log", "logend", "loglevel", "hgetkey", "hgetret", "prop", "now", "pairs", "sset", "mdef", "local", "ffi"];
    const [, r] = request(envoy, vm, [...cases.map((c) => `bad ${c}`), "bad write", "bad random"].join(";"));
    expect(r).toEqual([...cases.map(() => `${R.InvalidMemoryAccess}`), "21", "21"]);
    expect(vm.failed).toBe(false);
  });

  it("keeps working after the module grows its memory", async () => {
    const { envoy, vm } = await probeVm();
    const [, r] = request(envoy, vm, "grow 3;hget req :path;sset big value 0;sget big", [], {});
    expect(Number(r[0])).toBeGreaterThan(0);
    expect(r.slice(1, 3)).toEqual(["0:/p", "0"]);
    expect(r[3]).toMatch(/^0:\d+:value$/);
  });
});

describe("WASI", () => {
  it("random_get is seeded: same seed, same bytes", async () => {
    const a = await probeVm({ envoyOptions: { seed: 42 } });
    const b = await probeVm({ envoyOptions: { seed: 42 } });
    const c = await probeVm({ envoyOptions: { seed: 43 } });
    const bytes = (p: { envoy: Envoy; vm: Vm }) => request(p.envoy, p.vm, "random 16;random 0")[1];
    const ra = bytes(a);
    expect(ra[0]).toMatch(/^0:[0-9a-f]{32}$/);
    expect(ra[1]).toBe("0:");
    expect(bytes(b)).toEqual(ra);
    expect(bytes(c)[0]).not.toBe(ra[0]);
  });

  it("clocks read the virtual clock; fd_write goes to the log", async () => {
    const { envoy, vm } = await probeVm({ envoyOptions: { startTimeMs: 5000 } });
    envoy.advance(1.5);
    const [, r] = request(envoy, vm, `clock 0;clock 1;clock 2;now;write 1 ${arg("to stdout\n")};write 2 oops;write 7 x`);
    expect(r).toEqual(["0:5001500000", "0:1500000", "58", "0:5001500000", "0:10", "0:4", "8"]);
    expect(envoy.logs.some((l) => l.level === "info" && l.message === "to stdout")).toBe(true);
    expect(envoy.logs.some((l) => l.level === "error" && l.message === "oops")).toBe(true);
  });
});
