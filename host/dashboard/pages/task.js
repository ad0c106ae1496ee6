// One task: its request, its life (queued, each attempt, its end), its
// output as it is written, then its result, what it displayed and the
// files it left. Follows the task's own event stream until `end`.

import { blob, follow, get, post, remove } from "../api.js";
import { actor, twice } from "../actions.js";
import { badge, fact, fill, h } from "../dom.js";
import { bytes, count, ms, short, time } from "../format.js";
import { python } from "../highlight.js";

export function render(main, { id, navigate, failed }) {
  const title = h("h1", {}, "Task ", h("span", { class: "mono", title: id }, short(id)));
  const actions = h("div", { class: "actions" });
  const facts = h("dl", { class: "facts" });
  const timeline = h("ol", { class: "timeline", "aria-label": "Status timeline" });
  const request = h("div", {});
  const stdout = h("pre", { class: "stream", id: "stdout", role: "log", "aria-label": "Standard output", tabindex: 0, "data-empty": "nothing yet" });
  const stderr = h("pre", { class: "stream stderr", id: "stderr", role: "log", "aria-label": "Standard error", tabindex: 0, "data-empty": "nothing yet" });
  const progress = h("div", {});
  const logs = h("div", {});
  const result = h("div", { id: "result", "aria-live": "polite" }, h("p", { class: "muted" }, "Not ended yet."));
  const rich = h("div", { class: "rich", id: "rich" });
  const artifacts = h("div", { id: "artifacts" });
  const message = h("p", { role: "status", "aria-live": "polite", class: "muted" });
  main.append(
    h("div", { class: "head" }, title, actions), message,
    h("div", { class: "grid" },
      h("section", { class: "panel", "aria-labelledby": "t-facts" }, h("h2", { id: "t-facts" }, "Task"), facts),
      h("section", { class: "panel", "aria-labelledby": "t-life" }, h("h2", { id: "t-life" }, "Timeline"), timeline)),
    h("section", { "aria-labelledby": "t-request" }, h("h2", { id: "t-request" }, "Request"), request),
    h("section", { "aria-labelledby": "t-out" }, h("h2", { id: "t-out" }, "Output"), progress, stdout,
      h("h2", {}, "Errors"), stderr),
    h("section", { "aria-labelledby": "t-result" }, h("h2", { id: "t-result" }, "Result"), result, logs),
    h("section", { "aria-labelledby": "t-rich" }, h("h2", { id: "t-rich" }, "Displayed"), rich),
    h("section", { "aria-labelledby": "t-files" }, h("h2", { id: "t-files" }, "Artifacts"), artifacts),
  );

  let task = null;
  let shownStatus = null; // the buttons are for this status
  let submitted = null;
  let streamed = false;
  const liveLogs = [];
  const objectUrls = [];

  function show(next) {
    task = next;
    fill(title, "Task ", h("span", { class: "mono", title: task.id }, short(task.id)), " ", badge(task.status));
    fill(facts, factList(task));
    // Kept while the status holds, so a click (or an armed delete) is not
    // lost to an update.
    if (task.status !== shownStatus) fill(actions, buttons());
    shownStatus = task.status;
    if (task.progress !== undefined && task.progress !== null) {
      fill(progress, h("label", { for: "progress" }, "Progress"),
        h("progress", { id: "progress", max: 1, value: task.progress }, `${Math.round(task.progress * 100)}%`));
    }
    if (task.result) showResult(task.result);
  }

  function showResult(r) {
    fill(stdout, r.stdout);
    fill(stderr, r.stderr);
    stdout.dataset.empty = stderr.dataset.empty = "nothing was written";
    fill(result, h("dl", { class: "facts" },
      fact("Outcome", r.outcome.replaceAll("_", " ")),
      r.message ? fact("Message", r.message) : null,
      r.exit_code !== undefined && r.exit_code !== null ? fact("Exit code", r.exit_code) : null,
      fact("Fuel", count(r.fuel_used)),
      fact("Wall time", ms(r.wall_time_ms)),
      fact("Peak memory", bytes(r.peak_memory_bytes)),
      r.value !== undefined && r.value !== null ? fact("Value", h("code", {}, r.value)) : null,
      r.rolled_back ? fact("Session", "rolled back") : null,
      r.stdout_truncated || r.stderr_truncated ? fact("Truncated", [r.stdout_truncated ? "stdout" : "", r.stderr_truncated ? "stderr" : ""].filter(Boolean).join(", ")) : null,
      r.output !== undefined && r.output !== null ? fact("Output", h("pre", {}, JSON.stringify(r.output, null, 2))) : null));
    fill(logs, r.logs?.length ? logTable(r.logs) : null);
    fill(rich, (r.results || []).map(display));
    if (!r.results?.length) fill(rich, h("p", { class: "empty" }, "Nothing was displayed."));
    if (r.results_truncated) rich.append(h("p", { class: "muted" }, "More was displayed than is kept."));
    showArtifacts(r);
  }

  function showArtifacts(r) {
    if (!r.artifacts?.length) {
      fill(artifacts, h("p", { class: "empty" }, "No files were left under /output."));
      return;
    }
    const list = h("ul", { class: "rich" });
    for (const artifact of r.artifacts) {
      const path = `/v1/tasks/${task.id}/artifacts/${artifact.path.split("/").map(encodeURIComponent).join("/")}`;
      const item = h("li", {}, h("span", { class: "mono" }, artifact.path), " ",
        h("span", { class: "muted" }, `${artifact.media_type}, ${bytes(artifact.size)} `),
        h("button", { type: "button", onclick: () => download(path, artifact.path) }, "Download"));
      if (artifact.media_type.startsWith("image/") && artifact.media_type !== "image/svg+xml") {
        blob(path).then((b) => {
          const url = URL.createObjectURL(b);
          objectUrls.push(url);
          item.append(h("div", {}, h("img", { src: url, alt: artifact.path })));
        }).catch(() => {});
      }
      list.append(item);
    }
    if (r.artifacts_truncated) list.append(h("li", { class: "muted" }, "More files were left than are kept."));
    fill(artifacts, list);
  }

  function buttons() {
    const out = [];
    if (!task.status || ["waiting", "queued", "running"].includes(task.status)) {
      out.push(h("button", { type: "button", class: "danger", id: "cancel", onclick: cancel }, "Cancel"));
    } else {
      if (submitted && !task.session_id) out.push(h("button", { type: "button", id: "resubmit", onclick: resubmit }, "Run again"));
      out.push(h("button", { type: "button", class: "danger", id: "delete", onclick: confirmDelete }, "Delete"));
    }
    return out;
  }

  const act = actor(message, failed);

  const cancel = () => act(async () => {
    fill(message, "Cancelling…");
    show(await post(`/v1/tasks/${id}/cancel`));
  });
  const resubmit = () => act(async () => {
    const { idempotency_key: _, ...again } = submitted;
    const next = await post("/v1/tasks", again);
    navigate(`#/tasks/${next.id}`);
  });
  const confirmDelete = twice(act, async () => {
    await remove(`/v1/tasks/${id}`);
    navigate("#/tasks");
  });

  async function download(path, name) {
    await act(async () => {
      const url = URL.createObjectURL(await blob(path));
      const a = h("a", { href: url, download: name.split("/").pop() });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }

  // The task and its request first, then its events as they happen.
  let events = null;
  Promise.all([get(`/v1/tasks/${id}`), get(`/v1/tasks/${id}/request`)]).then(([t, r]) => {
    submitted = r;
    fill(request, requestView(r));
    show(t);
    events = followEvents();
  }).catch((error) => failed(error, main));

  function followEvents() {
    return follow(`/v1/tasks/${id}/events`, (name, event) => {
      if (name === "status") {
        if (!streamed) fill(timeline);
        streamed = true;
        timeline.append(step(event));
        if (task && !task.result) show({ ...task, status: event.status, attempt: event.attempt });
      } else if (name === "stdout" && !task.result) {
        stdout.append(event.text);
      } else if (name === "stderr" && !task.result) {
        stderr.append(event.text);
      } else if (name === "log" && !task.result) {
        liveLogs.push(event.line);
        fill(logs, logTable(liveLogs));
      } else if (name === "progress" && !task.result) {
        show({ ...task, progress: event.value });
      } else if (name === "end") {
        show(event.task);
        return false;
      }
      return true;
    });
  }

  return () => {
    events?.close();
    for (const url of objectUrls) URL.revokeObjectURL(url);
  };
}

function factList(task) {
  return [
    fact("Status", badge(task.status)),
    fact("Runtime", task.runtime),
    fact("Attempt", `${task.attempt} of ${task.max_attempts}`),
    fact("Priority", task.priority),
    fact("Submitted", time(task.created_at)),
    task.started_at ? fact("Started", time(task.started_at)) : null,
    task.finished_at ? fact("Ended", time(task.finished_at)) : null,
    task.session_id ? fact("Session", h("span", { class: "mono" }, `${task.session_id} (run ${task.session_run})`)) : null,
    task.error ? fact("Error", h("span", { class: "error" }, task.error)) : null,
    Object.keys(task.labels || {}).length
      ? fact("Labels", Object.entries(task.labels).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`)))
      : null,
  ];
}

function step(event) {
  const what = event.status === "running" ? `running, attempt ${event.attempt}`
    : event.status === "queued" && event.attempt > 0 ? `queued again after attempt ${event.attempt - 1}`
      : event.status;
  return h("li", { class: `s-${event.status}` }, h("strong", {}, what), " ",
    h("span", { class: "muted" }, event.at ? time(event.at) : ""));
}

function requestView(r) {
  const parts = [];
  if (r.code !== undefined && r.code !== null) parts.push(h("pre", { role: "group", "aria-label": "Code" }, python(r.code)));
  if (r.module) parts.push(h("p", {}, "Module ", h("code", {}, r.module)));
  const details = [
    r.args?.length ? fact("Arguments", h("code", {}, r.args.join(" "))) : null,
    r.stdin !== undefined && r.stdin !== null ? fact("Standard input", h("pre", {}, typeof r.stdin === "string" ? r.stdin : "(bytes)")) : null,
    r.input !== undefined && r.input !== null ? fact("Input", h("pre", {}, JSON.stringify(r.input, null, 2))) : null,
    Object.keys(r.env || {}).length ? fact("Environment", Object.keys(r.env).map((k) => h("span", { class: "chip" }, k))) : null,
    Object.keys(r.files || {}).length ? fact("Files", Object.keys(r.files).map((k) => h("span", { class: "chip" }, `/input/${k}`))) : null,
    Object.keys(r.limits || {}).length ? fact("Limits", Object.entries(r.limits).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`))) : null,
    r.kv_namespace ? fact("KV namespace", r.kv_namespace) : null,
    r.depends_on?.length ? fact(r.run_on_failure ? "Runs after (however they end)" : "Runs after", r.depends_on.map((d) =>
      h("a", { href: `#/tasks/${d}`, class: "mono chip" }, short(d)))) : null,
  ].filter(Boolean);
  if (details.length) parts.push(h("dl", { class: "facts" }, details));
  return h("div", { class: "panel" }, parts);
}

function logTable(lines) {
  return h("table", { "aria-label": "Logs" },
    h("thead", {}, h("tr", {}, h("th", {}, "At"), h("th", {}, "Level"), h("th", {}, "Message"))),
    h("tbody", {}, lines.map((line) => h("tr", {}, h("td", { class: "num" }, ms(line.at_ms)),
      h("td", {}, line.level), h("td", {}, line.message)))));
}

/** One displayed value, in its richest form that is safe to show. */
function display(bundle) {
  if (bundle["image/png"]) return h("img", { src: `data:image/png;base64,${bundle["image/png"]}`, alt: bundle["text/plain"] || "image" });
  if (bundle["image/jpeg"]) return h("img", { src: `data:image/jpeg;base64,${bundle["image/jpeg"]}`, alt: bundle["text/plain"] || "image" });
  if (bundle["image/svg+xml"]) {
    // As an image, SVG cannot run scripts or reach the page.
    return h("img", { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(bundle["image/svg+xml"])}`, alt: bundle["text/plain"] || "image" });
  }
  // HTML goes in a sandboxed frame: no scripts, no forms, its own origin.
  if (bundle["text/html"]) return h("iframe", { sandbox: "", srcdoc: bundle["text/html"], title: "HTML the task displayed" });
  if (bundle["application/json"] !== undefined) return h("pre", {}, JSON.stringify(bundle["application/json"], null, 2));
  const text = bundle["text/markdown"] ?? bundle["text/latex"] ?? bundle["text/plain"] ?? "";
  return h("pre", {}, text);
}
