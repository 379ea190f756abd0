/** Figure 2, filter size: the optimized .wasm Envoy loads, in bytes (target ≤ 64 KiB). */
import { statSync } from "node:fs";
import type { FigureInit } from "./figures.js";

const SIZE_TARGET_BYTES = 64 * 1024;

export function measureFilterSize(lightsubWasm: string, passthroughWasm: string): FigureInit[] {
  const size = statSync(lightsubWasm).size;
  const floor = statSync(passthroughWasm).size;
  return [
    {
      section: "filter-size",
      name: "bytes",
      params: { file: "build/lightsub.wasm" },
      unit: "bytes",
      samples: [size],
      target: { max: SIZE_TARGET_BYTES, text: "≤ 64 KiB" },
    },
    {
      section: "filter-size",
      name: "bytes",
      params: { file: "build/passthrough.wasm" },
      unit: "bytes",
      samples: [floor],
      note: "the empty pass-through filter: same toolchain, same runtime and bindings",
    },
    {
      section: "filter-size",
      name: "ratio-to-passthrough",
      params: { file: "build/lightsub.wasm" },
      unit: "×",
      samples: [size / floor],
      peer: "build/passthrough.wasm",
    },
  ];
}
