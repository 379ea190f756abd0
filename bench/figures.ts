/**
 * What every benchmark produces: figures, each a summary (median, min, max
 * over `runs` repetitions) of one quantity, with the target it is held to and
 * the machine it ran on. bench/README.md documents the shape.
 */

export interface Target {
  /** The figure meets the target when its median is at most / at least this. */
  max?: number;
  min?: number;
  /** The target as written in the issue, e.g. "≤ 1.5× the empty filter". */
  text: string;
}

export interface Figure {
  /** Which figure: "filter-cost", "filter-size", "shared-state", "scheduling-quality", "compiler", "simulator". */
  section: Section;
  /** The quantity, e.g. "ratio", "lightsub-ns", "host-calls". */
  name: string;
  /** What the quantity was measured for, e.g. { strategy: "least_latency", endpoints: 16 }. */
  params: Record<string, string | number>;
  unit: string;
  median: number;
  min: number;
  max: number;
  /** Number of repetitions summarized (1 for exact, single measurements). */
  runs: number;
  /** The peer a ratio is taken against, measured in the same run. */
  peer?: string;
  target?: Target;
  /** Whether the median meets the target (absent without a target). */
  met?: boolean;
  /** machine.summary of the machine it ran on. */
  machine: string;
  note?: string;
}

/** The in-host sections (`--only host`). */
export const SECTIONS = ["filter-cost", "filter-size", "shared-state", "scheduling-quality", "compiler", "simulator", "scheduling-baselines"] as const;
/** Sections on real Envoy with fortio (issue 18; they need .tools/bin/envoy and Go). `npm run bench` runs both kinds. */
export const ENVOY_SECTIONS = ["envoy-overhead", "envoy-scheduling", "envoy-simulator"] as const;
export const ALL_SECTIONS = [...SECTIONS, ...ENVOY_SECTIONS] as const;
export type Section = (typeof ALL_SECTIONS)[number];
/** Short names --only accepts too, each for one or more sections (figure 2 and 3 are measured together: the simulator is compared with figure 2's runs). */
export const SECTION_ALIASES: Readonly<Record<string, readonly Section[]>> = {
  host: SECTIONS,
  envoy: ["envoy-overhead", "envoy-scheduling", "envoy-simulator"],
  "envoy-scheduling": ["envoy-scheduling", "envoy-simulator"],
};

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median (mean of the two middle values for an even count), min and max. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summarize: no samples");
  if (samples.some((s) => !Number.isFinite(s))) throw new RangeError(`summarize: non-finite sample in [${samples.join(", ")}]`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

export interface FigureInit {
  section: Section;
  name: string;
  params?: Record<string, string | number>;
  unit: string;
  samples: readonly number[];
  peer?: string;
  target?: Target;
  note?: string;
}

/** A figure from raw samples; `met` follows from the target and the median. */
export function makeFigure(init: FigureInit, machine: string): Figure {
  const s = summarize(init.samples);
  const figure: Figure = {
    section: init.section,
    name: init.name,
    params: init.params ?? {},
    unit: init.unit,
    median: s.median,
    min: s.min,
    max: s.max,
    runs: s.runs,
    machine,
  };
  if (init.peer !== undefined) figure.peer = init.peer;
  if (init.target) {
    figure.target = init.target;
    figure.met = meetsTarget(s.median, init.target);
  }
  if (init.note !== undefined) figure.note = init.note;
  return figure;
}

function meetsTarget(value: number, target: Target): boolean {
  if (target.max !== undefined && !(value <= target.max)) return false;
  if (target.min !== undefined && !(value >= target.min)) return false;
  return true;
}

/** A figure that could not be measured (e.g. the simulator failed): kept in results with why. */
export interface Missing {
  section: Section;
  reason: string;
}
