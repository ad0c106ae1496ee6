// The sessions, newest first: open, running or ended, their runs and the
// state they keep; open a new one.

import { get, post } from "../api.js";
import { badge, fill, h } from "../dom.js";
import { ago, bytes, count, short } from "../format.js";

const PAGE = 25;

export function render(main, { params, navigate, onQueueChange, failed }) {
  const body = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  const message = h("p", { role: "status", "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  const status = h("select", { id: "s-status", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    ["idle", "running", "ended"].map((s) => h("option", { value: s, selected: params.get("status") === s }, s)));
  status.addEventListener("change", () => navigate(status.value ? `#/sessions?status=${status.value}` : "#/sessions"));
  main.append(
    h("div", { class: "head" }, h("h1", {}, "Sessions"),
      h("div", { class: "actions" }, status,
        h("button", { type: "button", class: "primary", id: "new-session", onclick: open }, "New session"))),
    message, body, pager);
  const cursor = params.get("cursor");

  async function open() {
    try {
      const session = await post("/v1/sessions", { runtime: "python" });
      navigate(`#/sessions/${session.id}`);
    } catch (error) {
      failed(error, message);
    }
  }

  async function load() {
    const query = new URLSearchParams({ limit: PAGE });
    if (params.get("status")) query.set("status", params.get("status"));
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await get(`/v1/sessions?${query}`);
      fill(body, page.sessions.length ? table(page.sessions) : h("p", { class: "empty" }, "No session matches."));
      const next = new URLSearchParams(params);
      if (page.next_cursor) next.set("cursor", page.next_cursor);
      fill(pager,
        cursor ? h("button", { type: "button", onclick: () => navigate("#/sessions") }, "Newest") : null,
        page.next_cursor ? h("button", { type: "button", onclick: () => navigate(`#/sessions?${next}`) }, "Older") : null);
    } catch (error) {
      failed(error, body);
    }
  }

  load();
  return onQueueChange(load);
}

function table(sessions) {
  return h("table", { "aria-label": "Sessions" },
    h("thead", {}, h("tr", {}, h("th", {}, "Session"), h("th", {}, "Status"), h("th", { class: "num" }, "Runs"),
      h("th", { class: "num" }, "State"), h("th", {}, "Last run"), h("th", {}, "Ends"), h("th", { class: "hide-narrow" }, "Labels"))),
    h("tbody", {}, sessions.map((s) => h("tr", { "data-id": s.id },
      h("td", { class: "mono" }, h("a", { href: `#/sessions/${s.id}`, title: s.id }, short(s.id))),
      h("td", {}, badge(s.status)),
      h("td", { class: "num" }, count(s.runs)),
      h("td", { class: "num" }, bytes(s.state_bytes)),
      h("td", {}, s.last_run_at ? ago(s.last_run_at) : "never"),
      h("td", {}, s.status === "ended" ? (s.end_reason || "ended") : new Date(s.expires_at).toLocaleString()),
      h("td", { class: "hide-narrow" }, Object.entries(s.labels || {}).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`)))))));
}
