// Shared by the benches: table printing, seeded shuffles, statistics, versions, env knobs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Prints rows (the first is the header) as aligned columns. */
export function printTable(rows, rightAlign) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((cell, i) => (rightAlign[i] ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i]))).join('  ');
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
}

/** Each round runs the cases in a fresh order (seeded, so runs are comparable). */
export function shuffled(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A small seeded PRNG. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The q-quantile (0..1) with linear interpolation. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values) {
  return quantile(values, 0.5);
}

/** The installed version of a package ('..' is closed-loop itself), or '?'. */
export function versionOf(name) {
  try {
    if (name === '..') return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
    const require = createRequire(import.meta.url);
    const entry = require.resolve(name);
    const marker = `/node_modules/${name}/`;
    const root = entry.slice(0, entry.indexOf(marker) + marker.length);
    return JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
  } catch {
    return '?';
  }
}

/** An env knob: a positive integer, else the fallback. */
export function positiveInt(text, fallback) {
  const n = Number(text);
  return text !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}
