/**
 * Minimal SVG charts for the HTML report, drawn as text here so the page needs
 * no script and no network: line charts (linear or log axes) and stacked
 * area charts, with ticks, labels, shaded time windows and <title> tooltips.
 */

export const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
];

export interface Axis {
  label: string;
  scale: "linear" | "log";
  min: number;
  max: number;
  ticks: { value: number; label: string }[];
}

export interface LineSeries {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
  /** An SVG stroke-dasharray (wins over `dashed`). */
  dash?: string;
  width?: number;
}

export interface Shade {
  from: number;
  to: number;
  label: string;
}

const W = 640;
const H = 300;
const M = { left: 64, right: 28, top: 16, bottom: 44 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function project(axis: Axis, value: number, from: number, to: number): number {
  const t =
    axis.scale === "log"
      ? (Math.log10(Math.max(value, axis.min)) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
      : (value - axis.min) / (axis.max - axis.min || 1);
  return from + Math.min(1, Math.max(0, t)) * (to - from);
}

/** `shadesOnTop`: for charts whose body covers the whole plot (stacked areas), shades are drawn over it, outlined. */
function frame(x: Axis, y: Axis, shades: Shade[], body: string, title: string, shadesOnTop = false): string {
  const px = (v: number) => project(x, v, M.left, W - M.right);
  const py = (v: number) => project(y, v, H - M.bottom, M.top);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(title)}" class="chart">`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="#fff" stroke="#ccc"/>`);
  const shadeRects = shades.map((shade) => {
    const a = px(shade.from);
    const b = px(shade.to);
    const style = shadesOnTop ? 'fill="#fff" fill-opacity="0.25" stroke="#222" stroke-dasharray="4 3"' : 'fill="#f4c7c3" opacity="0.45"';
    return `<rect x="${f(a)}" y="${M.top}" width="${f(Math.max(1, b - a))}" height="${H - M.top - M.bottom}" ${style}><title>${escapeXml(shade.label)}</title></rect>`;
  });
  if (!shadesOnTop) parts.push(...shadeRects);
  for (const t of visibleTicks(x, M.left, W - M.right, false)) {
    const at = px(t.value);
    parts.push(`<line x1="${f(at)}" x2="${f(at)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${f(at)}" y="${H - M.bottom + 18}" text-anchor="middle" class="tick">${escapeXml(t.label)}</text>`);
  }
  for (const t of visibleTicks(y, H - M.bottom, M.top, true)) {
    const at = py(t.value);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${f(at)}" y2="${f(at)}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${f(at + 4)}" text-anchor="end" class="tick">${escapeXml(t.label)}</text>`);
  }
  parts.push(body);
  if (shadesOnTop) parts.push(...shadeRects);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${escapeXml(x.label)}</text>`);
  parts.push(`<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(y.label)}</text>`);
  parts.push(`</svg>`);
  return parts.join("\n");
}

/** Width of one character of a tick label (11px system sans-serif, a little generous) and the gap between labels. */
const TICK_CHAR_PX = 6.6;
const TICK_GAP_PX = 8;
const TICK_LINE_PX = 14;

/**
 * The axis's ticks, thinned until no two labels overlap: all of them; on a log
 * axis then only the powers of ten; then every 2nd, 3rd, … of those (always
 * keeping the first). Many decades of latency otherwise crowd the axis.
 */
function visibleTicks(axis: Axis, from: number, to: number, vertical: boolean): Axis["ticks"] {
  const at = (v: number) => project(axis, v, from, to);
  const fits = (ticks: Axis["ticks"]) =>
    ticks.every((t, i) => {
      if (i === 0) return true;
      const prev = ticks[i - 1]!;
      const need = vertical ? TICK_LINE_PX : ((prev.label.length + t.label.length) / 2) * TICK_CHAR_PX + TICK_GAP_PX;
      return Math.abs(at(t.value) - at(prev.value)) >= need;
    });
  if (fits(axis.ticks)) return axis.ticks;
  const base = axis.scale === "log" ? axis.ticks.filter((t) => isPowerOfTen(t.value)) : axis.ticks;
  for (let stride = axis.scale === "log" ? 1 : 2; stride <= base.length; stride++) {
    const ticks = base.filter((_, i) => i % stride === 0);
    if (fits(ticks)) return ticks;
  }
  return base.slice(0, 1);
}

function isPowerOfTen(v: number): boolean {
  const exponent = Math.round(Math.log10(v));
  return Math.abs(v / 10 ** exponent - 1) < 1e-9;
}

/** Dash patterns that tell lines apart where they lie on top of each other (solid first). */
export const DASHES = ["", "7 4", "2 3", "10 3 2 3", "4 4", "1 3", "12 4 4 4", "6 2 2 2 2 2"];

export function lineChart(title: string, x: Axis, y: Axis, series: LineSeries[], shades: Shade[] = []): string {
  const px = (v: number) => project(x, v, M.left, W - M.right);
  const py = (v: number) => project(y, v, H - M.bottom, M.top);
  const body = series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const d = s.points.map(([a, b], i) => `${i === 0 ? "M" : "L"}${f(px(a))},${f(py(b))}`).join("");
      const dash = s.dash ?? (s.dashed ? "5 3" : "");
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.8}"${dash !== "" ? ` stroke-dasharray="${dash}"` : ""} class="series"><title>${escapeXml(s.name)}</title></path>`;
    })
    .join("\n");
  return frame(x, y, shades, body, title);
}

/** Areas stacked bottom-up in series order; each series gives y per shared x. */
export function stackedAreaChart(title: string, x: Axis, y: Axis, xs: number[], series: { name: string; color: string; values: number[] }[], shades: Shade[] = []): string {
  const px = (v: number) => project(x, v, M.left, W - M.right);
  const py = (v: number) => project(y, v, H - M.bottom, M.top);
  const base = xs.map(() => 0);
  const paths: string[] = [];
  for (const s of series) {
    const top = base.map((b, i) => b + (s.values[i] ?? 0));
    const upper = xs.map((xv, i) => `${f(px(xv))},${f(py(top[i]!))}`);
    const lower = xs.map((xv, i) => `${f(px(xv))},${f(py(base[i]!))}`).reverse();
    paths.push(`<path d="M${upper.join("L")}L${lower.join("L")}Z" fill="${s.color}" opacity="0.85" class="series"><title>${escapeXml(s.name)}</title></path>`);
    top.forEach((v, i) => (base[i] = v));
  }
  return frame(x, y, shades, paths.join("\n"), title, true);
}

function f(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** Ticks at 1-2-5 steps over [min, max] on a log axis. */
export function logTicks(min: number, max: number, format: (v: number) => string): { value: number; label: string }[] {
  const ticks: { value: number; label: string }[] = [];
  for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** p;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push({ value: v, label: format(v) });
    }
  }
  return ticks;
}

/** About `count` round ticks over [min, max] on a linear axis. */
export function linearTicks(min: number, max: number, count: number, format: (v: number) => string): { value: number; label: string }[] {
  const span = max - min || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks: { value: number; label: string }[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push({ value: v, label: format(Number(v.toPrecision(12))) });
  return ticks;
}
