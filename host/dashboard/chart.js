// The overview's chart: tasks ended per interval, stacked by how they
// ended, as an SVG with a title on every bar and a summary for readers
// that do not see it.

import { h, svg } from "./dom.js";

const WIDTH = 600;
const HEIGHT = 150;

export function endedChart(intervals, intervalSeconds) {
  const highest = Math.max(1, ...intervals.map((i) => i.succeeded + i.failed + i.cancelled));
  const step = WIDTH / Math.max(1, intervals.length);
  const scale = (HEIGHT - 16) / highest;
  const bars = [];
  intervals.forEach((interval, i) => {
    let y = HEIGHT - 14;
    const x = i * step + 1;
    const title = `${new Date(interval.start).toLocaleTimeString()}: ${interval.succeeded} succeeded, ` +
      `${interval.failed} failed, ${interval.cancelled} cancelled`;
    const parts = [];
    for (const [n, kind] of [[interval.succeeded, "ok"], [interval.failed, "bad"], [interval.cancelled, "cancelled"]]) {
      if (!n) continue;
      const height = Math.max(1, n * scale);
      y -= height;
      parts.push(svg("rect", { x, y, width: Math.max(1, step - 2), height, class: kind }));
    }
    bars.push(svg("g", {}, svg("title", {}, title),
      svg("rect", { x, y: 0, width: step, height: HEIGHT, fill: "transparent" }), parts));
  });
  const total = intervals.reduce((sum, i) => sum + i.succeeded + i.failed + i.cancelled, 0);
  const failed = intervals.reduce((sum, i) => sum + i.failed, 0);
  const minutes = Math.round((intervals.length * intervalSeconds) / 60);
  const summary = `${total} tasks ended in the last ${minutes} minutes` +
    (total ? `, ${Math.round((100 * failed) / total)}% of them failed` : "");
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, preserveAspectRatio: "none" },
      svg("line", { x1: 0, y1: HEIGHT - 13, x2: WIDTH, y2: HEIGHT - 13, class: "axis" }), bars),
    h("figcaption", { class: "legend" },
      h("span", {}, h("i", { class: "ok" }), "succeeded"),
      h("span", {}, h("i", { class: "bad" }), "failed"),
      h("span", {}, h("i", { class: "cancelled" }), "cancelled"),
      h("span", { class: "summary" }, summary)));
}
