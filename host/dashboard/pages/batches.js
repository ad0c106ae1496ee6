// The batches, newest first: how many of each batch's tasks are where;
// a batch's tasks are the tasks page filtered by it.

import { get } from "../api.js";
import { fill, h } from "../dom.js";
import { ago, count, short } from "../format.js";

const PAGE = 25;

export function render(main, { params, navigate, onQueueChange, failed }) {
  const body = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  const pager = h("div", { class: "pager" });
  main.append(h("h1", {}, "Batches"), body, pager);
  const cursor = params.get("cursor");

  async function load() {
    const query = new URLSearchParams({ limit: PAGE });
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await get(`/v1/batches?${query}`);
      fill(body, page.batches.length ? table(page.batches) : h("p", { class: "empty" }, "No batch has been submitted."));
      fill(pager,
        cursor ? h("button", { type: "button", onclick: () => navigate("#/batches") }, "Newest") : null,
        page.next_cursor ? h("button", { type: "button", onclick: () => navigate(`#/batches?cursor=${page.next_cursor}`) }, "Older") : null);
    } catch (error) {
      failed(error, body);
    }
  }

  load();
  return onQueueChange(load);
}

function table(batches) {
  return h("table", { "aria-label": "Batches" },
    h("thead", {}, h("tr", {}, h("th", {}, "Batch"), h("th", {}, "Submitted"), h("th", { class: "num" }, "Tasks"),
      h("th", {}, "Done"), h("th", { class: "num" }, "Queued"), h("th", { class: "num" }, "Running"),
      h("th", { class: "num" }, "Succeeded"), h("th", { class: "num" }, "Failed"), h("th", { class: "num" }, "Cancelled"))),
    h("tbody", {}, batches.map((b) => {
      const done = b.counts.succeeded + b.counts.failed + b.counts.cancelled;
      return h("tr", {},
        h("td", { class: "mono" }, h("a", { href: `#/tasks?batch=${b.id}`, title: b.id }, short(b.id))),
        h("td", { title: b.created_at }, ago(b.created_at)),
        h("td", { class: "num" }, count(b.tasks)),
        h("td", {}, h("meter", { min: 0, max: Math.max(1, b.tasks), value: done, "aria-label": `${done} of ${b.tasks} ended` })),
        h("td", { class: "num" }, count(b.counts.queued)),
        h("td", { class: "num" }, count(b.counts.running)),
        h("td", { class: "num" }, count(b.counts.succeeded)),
        h("td", { class: "num" }, count(b.counts.failed)),
        h("td", { class: "num" }, count(b.counts.cancelled)));
    })));
}
