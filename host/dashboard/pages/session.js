// One session as a notebook: its runs in order (code, output, the value of
// the trailing expression, a rollback when a limit stopped one), a cell to
// run more in it, and fork, restart and delete.

import { follow, get, post, remove } from "../api.js";
import { actor, twice } from "../actions.js";
import { badge, fact, fill, h } from "../dom.js";
import { bytes, ms, short, time } from "../format.js";
import { python } from "../highlight.js";

/** Runs shown from the session's history. */
const HISTORY = 30;

export function render(main, { id, navigate, failed }) {
  const title = h("h1", {}, "Session ", h("span", { class: "mono", title: id }, short(id)));
  const actions = h("div", { class: "actions" });
  const facts = h("dl", { class: "facts" });
  const cells = h("ol", { class: "cells", "aria-label": "Runs" });
  const message = h("p", { role: "status", "aria-live": "polite" });
  const code = h("textarea", { id: "cell-code", spellcheck: "false", rows: 5 });
  const timeout = h("input", { id: "cell-timeout", type: "number", min: "0.1", step: "0.1", size: 6, placeholder: "default" });
  const form = h("form", { id: "cell", "aria-label": "Run in the session" },
    h("label", { for: "cell-code" }, "Python (Ctrl+Enter runs it)"), code,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Run"),
      h("label", { for: "cell-timeout" }, "Timeout (seconds)"), timeout));
  main.append(h("div", { class: "head" }, title, actions), message,
    h("section", { class: "panel", "aria-label": "Session" }, facts),
    h("h2", {}, "Runs"), cells, form);

  const streams = [];
  let session = null;

  function show(next) {
    session = next;
    fill(title, "Session ", h("span", { class: "mono", title: id }, short(id)), " ", badge(session.status));
    fill(facts,
      fact("Created", time(session.created_at)),
      fact("Last run", session.last_run_at ? time(session.last_run_at) : "never"),
      session.status === "ended"
        ? fact("Ended", `${time(session.ended_at)} (${session.end_reason})`)
        : fact("Ends", `${time(session.expires_at)} unless it runs again`),
      fact("Runs", session.runs),
      fact("State kept", `${bytes(session.state_bytes)} of ${bytes(session.max_state_bytes)}`),
      fact("Memory", bytes(session.memory_bytes)),
      session.forked_from ? fact("Forked from", h("a", { href: `#/sessions/${session.forked_from}`, class: "mono" }, short(session.forked_from))) : null);
    const open = session.status !== "ended";
    form.hidden = !open;
    fill(actions, open ? [
      h("button", { type: "button", id: "fork", onclick: fork }, "Fork"),
      h("button", { type: "button", id: "restart", onclick: restart }, "Restart"),
      h("button", { type: "button", class: "danger", id: "delete", onclick: confirmDelete }, "Delete"),
    ] : []);
  }

  const refresh = () => get(`/v1/sessions/${id}`).then(show);

  const act = actor(message, failed);

  const fork = () => act(async () => navigate(`#/sessions/${(await post(`/v1/sessions/${id}/fork`)).id}`));
  const restart = () => act(async () => {
    show(await post(`/v1/sessions/${id}/restart`));
    fill(message, "Restarted: a fresh interpreter, the same settings.");
  });
  const confirmDelete = twice(act, async () => {
    await remove(`/v1/sessions/${id}`);
    navigate("#/sessions");
  });

  /** A cell for run `run`, its output following the run's events to its end. */
  function cell(run, source) {
    const out = h("pre", { class: "stream", "data-empty": "" });
    const err = h("pre", { class: "stream stderr", "data-empty": "", hidden: true });
    const value = h("div", { class: "value" });
    const state = h("span", { class: "muted" });
    const item = h("li", { class: "cell", "data-id": run.id },
      h("div", { class: "prompt" }, h("a", { href: `#/tasks/${run.id}` }, `In [${run.session_run}]`), " ", state),
      h("pre", {}, python(source)), out, err, value);
    const end = (task) => {
      const r = task.result;
      fill(state, badge(task.status), r ? ` ${ms(r.wall_time_ms)}` : "");
      if (!r) {
        fill(value, h("p", { class: "error" }, task.error || "ended without a result"));
        return;
      }
      fill(out, r.stdout);
      fill(err, r.stderr);
      err.hidden = !r.stderr;
      fill(value,
        r.value !== undefined && r.value !== null ? h("pre", { class: "out" }, `Out[${run.session_run}]: ${r.value}`) : null,
        r.rolled_back ? h("p", { class: "error" }, `${r.outcome.replaceAll("_", " ")}: the session was rolled back to before this run.`) : null,
        (r.results || []).filter((b) => b["image/png"]).map((b) => h("img", { src: `data:image/png;base64,${b["image/png"]}`, alt: b["text/plain"] || "figure" })));
    };
    if (run.status === "succeeded" || run.status === "failed" || run.status === "cancelled") {
      end(run);
    } else {
      fill(state, badge(run.status));
      streams.push(follow(`/v1/tasks/${run.id}/events`, (name, event) => {
        if (name === "stdout") out.append(event.text);
        else if (name === "stderr") {
          err.hidden = false;
          err.append(event.text);
        } else if (name === "status") fill(state, badge(event.status));
        else if (name === "end") {
          end(event.task);
          refresh().catch(() => {});
          return false;
        }
        return true;
      }));
    }
    return item;
  }

  async function history() {
    const page = await get(`/v1/sessions/${id}/runs?limit=${HISTORY}`);
    const runs = page.tasks.reverse();
    const requests = await Promise.all(runs.map((r) => get(`/v1/tasks/${r.id}/request`)));
    fill(cells, runs.map((run, i) => cell(run, requests[i].code || "")));
    if (page.next_cursor) cells.prepend(h("li", { class: "muted" }, `Only the last ${HISTORY} runs are shown.`));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const source = code.value;
    if (!source.trim()) return;
    act(async () => {
      const seconds = Number(timeout.value);
      const limits = seconds > 0 ? { timeout_ms: Math.round(seconds * 1000) } : {};
      const run = await post(`/v1/sessions/${id}/runs`, { code: source, limits });
      cells.append(cell(run, source));
      code.value = "";
      code.focus();
    });
  });
  code.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  Promise.all([refresh(), history()]).catch((error) => failed(error, main));
  return () => {
    for (const stream of streams) stream.close();
  };
}

