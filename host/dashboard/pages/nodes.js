// The nodes sharing the queue, from the overview stream: alive or dead,
// their slots, what they run, their last heartbeat.

import { badge, fill, h } from "../dom.js";
import { ago, time } from "../format.js";

export function render(main, { onOverview }) {
  const body = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  main.append(h("h1", {}, "Nodes"), body);
  return onOverview((overview) => {
    if (!overview.nodes.length) {
      fill(body, h("p", { class: "empty" }, "No node has reported yet."));
      return;
    }
    fill(body, h("table", { "aria-label": "Nodes" },
      h("thead", {}, h("tr", {}, h("th", {}, "Node"), h("th", {}, "Status"), h("th", {}, "Address"),
        h("th", { class: "num" }, "Slots"), h("th", { class: "num" }, "Running"), h("th", {}, "Busy"),
        h("th", {}, "Started"), h("th", {}, "Last heartbeat"))),
      h("tbody", {}, overview.nodes.map((node) => h("tr", {},
        h("td", { class: "mono" }, node.id),
        h("td", {}, badge(node.status)),
        h("td", { class: "mono" }, node.address),
        h("td", { class: "num" }, node.slots),
        h("td", { class: "num" }, node.running),
        h("td", {}, h("meter", { min: 0, max: node.slots, value: node.running, "aria-label": `${node.running} of ${node.slots} slots busy` })),
        h("td", { title: node.started_at }, time(node.started_at)),
        h("td", { title: node.last_heartbeat }, ago(node.last_heartbeat)))))));
  });
}
