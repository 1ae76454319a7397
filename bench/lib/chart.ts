/** The SVG chart of a run's target ratios (docs/bench-ratios.svg), drawn by hand: no plotting dependency. */
import type { Target } from "./targets.ts";

const WIDTH = 760;
const LABEL = 330;
const ROW = 24;
const TOP = 34;
/** Ratios are drawn on a log scale from 1/4 to 8, so "2x slower" and "2x faster" are as long. */
const MIN = 0.25;
const MAX = 8;

function x(ratio: number): number {
  const clamped = Math.min(MAX, Math.max(MIN, ratio));
  return LABEL + ((Math.log(clamped) - Math.log(MIN)) / (Math.log(MAX) - Math.log(MIN))) * (WIDTH - LABEL - 60);
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function ratioChart(targets: readonly Target[], title: string): string {
  const height = TOP + targets.length * ROW + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const tick of [0.25, 0.5, 1, 2, 4, 8]) {
    const tx = x(tick).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${height - 24}" stroke="${tick === 1 ? "#444" : "#ddd"}"/>`);
    parts.push(`<text x="${tx}" y="${height - 10}" text-anchor="middle" fill="#555">${tick}x</text>`);
  }
  targets.forEach((target, i) => {
    const y = TOP + i * ROW;
    const label = `${target.context}: ${target.measure} vs ${target.against}`;
    parts.push(`<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end">${escape(label.length > 52 ? `${label.slice(0, 51)}…` : label)}</text>`);
    if (target.ratio === null) {
      parts.push(`<text x="${LABEL + 4}" y="${y + 15}" fill="#888">not run</text>`);
    } else {
      const met = target.ratio >= target.goal;
      const from = x(1);
      const to = x(target.ratio);
      parts.push(
        `<rect x="${Math.min(from, to).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(to - from)).toFixed(1)}" height="${ROW - 8}" fill="${met ? "#3a8f4b" : "#d9822b"}"/>`,
      );
      parts.push(`<text x="${(Math.max(from, to) + 4).toFixed(1)}" y="${y + 15}">${target.ratio.toFixed(2)}x</text>`);
    }
    const gx = x(target.goal).toFixed(1);
    parts.push(`<line x1="${gx}" y1="${y + 1}" x2="${gx}" y2="${y + ROW - 1}" stroke="#1f4e9c" stroke-width="2" stroke-dasharray="3,2"/>`);
  });
  parts.push(`<text x="${WIDTH - 8}" y="18" text-anchor="end" fill="#1f4e9c">dashed: goal; green: met</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
