// The overview: the queue by status, what ended lately, the nodes and what
// they run, the latest failures. Drawn from the overview stream alone, so
// it moves as the queue does.

import { endedChart } from "../chart.js";
import { badge, fill, h } from "../dom.js";
import { ago, count, short } from "../format.js";

const STATUSES = ["waiting", "queued", "running", "succeeded", "failed", "cancelled"];

export function render(main, { onOverview }) {
  const cards = h("div", { class: "cards", role: "list", "aria-label": "Tasks by status" });
  const chart = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  const nodes = h("div", {});
  const failures = h("div", {});
  main.append(
    h("h1", {}, "Overview"),
    cards,
    h("div", { class: "grid" },
      h("section", { "aria-labelledby": "ended-title" }, h("h2", { id: "ended-title" }, "Tasks ended"), chart),
      h("section", { "aria-labelledby": "nodes-title" }, h("h2", { id: "nodes-title" }, "Running per node"),
        h("div", { class: "panel" }, nodes))),
    h("section", { "aria-labelledby": "failures-title" }, h("h2", { id: "failures-title" }, "Recent failures"),
      h("div", { class: "panel" }, failures)),
  );
  return onOverview((overview) => {
    const minutes = Math.round((overview.ended.length * overview.interval_seconds) / 60);
    fill(cards, STATUSES.map((status) =>
      h("a", { class: "card", role: "listitem", href: `#/tasks?status=${status}`, "data-status": status },
        h("span", { class: "n" }, count(overview.counts[status])),
        h("span", { class: "l" }, badge(status),
          ["waiting", "queued", "running"].includes(status) ? " now" : ` in ${minutes} min`))));
    fill(chart, endedChart(overview.ended, overview.interval_seconds));
    fill(nodes, nodeTable(overview.nodes));
    fill(failures, failureList(overview.recent_failures));
  });
}

function nodeTable(nodes) {
  if (!nodes.length) return h("p", { class: "empty" }, "No node has reported yet.");
  return h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "Node"), h("th", {}, "Status"), h("th", { class: "num" }, "Running"),
      h("th", {}, ""), h("th", {}, "Heartbeat"))),
    h("tbody", {}, nodes.map((node) => h("tr", {},
      h("td", { class: "mono", title: node.id }, short(node.id)),
      h("td", {}, badge(node.status)),
      h("td", { class: "num" }, `${node.running} / ${node.slots}`),
      h("td", {}, h("meter", { min: 0, max: node.slots, value: node.running, "aria-label": `${node.running} of ${node.slots} slots busy` })),
      h("td", {}, ago(node.last_heartbeat))))));
}

function failureList(failures) {
  if (!failures.length) return h("p", { class: "empty" }, "No task has failed.");
  return h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "Task"), h("th", {}, "Outcome"), h("th", {}, "Message"), h("th", {}, "Ended"))),
    h("tbody", {}, failures.map((failure) => h("tr", {},
      h("td", { class: "mono" }, h("a", { href: `#/tasks/${failure.id}` }, short(failure.id))),
      h("td", {}, failure.outcome ? failure.outcome.replaceAll("_", " ") : ""),
      h("td", {}, failure.message || ""),
      h("td", {}, ago(failure.finished_at))))));
}
