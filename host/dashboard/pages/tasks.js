// The tasks: newest first, filtered by status, runtime, label, batch and
// time, a page at a time. The first page reads itself again whenever the
// overview says the queue changed, so new tasks appear as they come.

import { get } from "../api.js";
import { badge, fill, h } from "../dom.js";
import { ago, ms, short, span } from "../format.js";

const PAGE = 25;
const FILTERS = ["status", "runtime", "label", "batch", "created_after", "created_before"];

export function render(main, { params, onQueueChange, navigate, failed }) {
  const rows = h("tbody", {});
  const table = h("table", { "aria-label": "Tasks" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Runtime"),
      h("th", { scope: "col", class: "hide-narrow" }, "Labels"), h("th", { scope: "col" }, "Submitted"),
      h("th", { scope: "col", class: "num" }, "Took"), h("th", { scope: "col", class: "hide-narrow" }, "Outcome"))),
    rows);
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  main.append(h("div", { class: "head" }, h("h1", {}, "Tasks"), h("a", { href: "#/run" }, "Run a task")),
    filterForm(params, navigate), h("div", { class: "panel" }, table, status), pager);

  let shown = null; // ids on the page, to mark the new ones
  const cursor = params.get("cursor");

  async function load() {
    const query = new URLSearchParams({ limit: PAGE });
    for (const name of FILTERS) if (params.get(name)) query.set(name, params.get(name));
    if (cursor) query.set("cursor", cursor);
    let page;
    try {
      page = await get(`/v1/tasks?${query}`);
    } catch (error) {
      failed(error, status);
      return;
    }
    fill(rows, page.tasks.map((task) => row(task, shown !== null && !shown.has(task.id))));
    shown = new Set(page.tasks.map((t) => t.id));
    fill(status, page.tasks.length ? "" : "No task matches.");
    fill(pager,
      cursor ? h("button", { type: "button", onclick: () => navigate(link(params, null)) }, "Newest") : null,
      page.next_cursor ? h("button", { type: "button", onclick: () => navigate(link(params, page.next_cursor)) }, "Older") : null);
  }

  load();
  return cursor ? () => {} : onQueueChange(load);
}

function link(params, cursor) {
  const next = new URLSearchParams(params);
  if (cursor) next.set("cursor", cursor);
  else next.delete("cursor");
  return `#/tasks?${next}`;
}

function row(task, fresh) {
  const outcome = task.result?.outcome?.replaceAll("_", " ") || (task.error ? "error" : "");
  return h("tr", { class: fresh ? "fresh" : null, "data-id": task.id },
    h("td", { class: "mono" }, h("a", { href: `#/tasks/${task.id}`, title: task.id }, short(task.id))),
    h("td", {}, badge(task.status)),
    h("td", {}, task.runtime),
    h("td", { class: "hide-narrow" }, Object.entries(task.labels || {}).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`))),
    h("td", { title: task.created_at }, ago(task.created_at)),
    h("td", { class: "num" }, task.result ? ms(task.result.wall_time_ms) : span(task.started_at, task.finished_at)),
    h("td", { class: "hide-narrow" }, outcome));
}

function filterForm(params, navigate) {
  const select = (name, options) => h("select", { id: `f-${name}`, name },
    h("option", { value: "" }, "any"),
    options.map((o) => h("option", { value: o, selected: params.get(name) === o }, o)));
  const local = (iso) => (iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "");
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter tasks" },
    h("div", {}, h("label", { for: "f-status" }, "Status"), select("status", ["waiting", "queued", "running", "succeeded", "failed", "cancelled"])),
    h("div", {}, h("label", { for: "f-runtime" }, "Runtime"), select("runtime", ["python", "wasm"])),
    h("div", {}, h("label", { for: "f-label" }, "Label"),
      h("input", { id: "f-label", name: "label", placeholder: "key=value", value: params.get("label") || "", size: 14 })),
    h("div", {}, h("label", { for: "f-batch" }, "Batch"),
      h("input", { id: "f-batch", name: "batch", placeholder: "batch id", value: params.get("batch") || "", size: 14 })),
    h("div", {}, h("label", { for: "f-after" }, "Submitted after"),
      h("input", { id: "f-after", name: "created_after", type: "datetime-local", value: local(params.get("created_after")) })),
    h("div", {}, h("label", { for: "f-before" }, "Submitted before"),
      h("input", { id: "f-before", name: "created_before", type: "datetime-local", value: local(params.get("created_before")) })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter"),
      h("a", { href: "#/tasks" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (!value) continue;
      next.set(name, name.startsWith("created_") ? new Date(value).toISOString() : value.trim());
    }
    navigate(`#/tasks?${next}`);
  });
  return form;
}
