// The dashboard's shell: routes (in the URL's fragment, so the server
// serves one page), the one overview stream every page can listen to, the
// API key dialog and the theme.

import { apiKey, follow, setApiKey, Unauthorized } from "./api.js";
import { fill, h } from "./dom.js";
import * as batches from "./pages/batches.js";
import * as modules from "./pages/modules.js";
import * as nodes from "./pages/nodes.js";
import * as overview from "./pages/overview.js";
import * as run from "./pages/run.js";
import * as session from "./pages/session.js";
import * as sessions from "./pages/sessions.js";
import * as task from "./pages/task.js";
import * as tasks from "./pages/tasks.js";

const ROUTES = [
  [/^\/$/, overview, "overview"],
  [/^\/tasks$/, tasks, "tasks"],
  [/^\/tasks\/([\w-]+)$/, task, "tasks"],
  [/^\/sessions$/, sessions, "sessions"],
  [/^\/sessions\/([\w-]+)$/, session, "sessions"],
  [/^\/batches$/, batches, "batches"],
  [/^\/modules$/, modules, "modules"],
  [/^\/nodes$/, nodes, "nodes"],
  [/^\/run$/, run, "run"],
];

const main = document.getElementById("main");
const liveLabel = document.getElementById("live");
let leave = () => {};

// --- the overview stream, shared by the pages ---

const listeners = new Set();
let latest = null;
let stream = null;

/** Call `listener(overview)` now (if one was read) and at each change. */
function onOverview(listener) {
  listeners.add(listener);
  if (latest) listener(latest);
  return () => listeners.delete(listener);
}

/** Call `load()` whenever the queue moved (a count or the newest task
 * changed) since the overview last said, not for the first overview. */
function onQueueChange(load) {
  let seen = null;
  return onOverview((overview) => {
    const now = JSON.stringify([overview.counts, overview.newest_task_id]);
    if (seen !== null && seen !== now) load();
    seen = now;
  });
}

function connect() {
  stream?.close();
  stream = follow("/v1/overview/events", (name, data) => {
    if (name !== "overview") return;
    latest = data;
    for (const listener of listeners) listener(data);
  }, (state) => {
    liveLabel.dataset.state = state;
    liveLabel.textContent = state === "live" ? "live" : "reconnecting";
  });
}

// --- routing ---

function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  leave();
  for (const [pattern, page, section] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll(".bar nav a")) {
      if (link.dataset.section === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    fill(main);
    const context = { params, id: match[1], onOverview, onQueueChange, navigate, failed };
    leave = page.render(main, context) || (() => {});
    return;
  }
  leave = () => {};
  fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Show why a page could not load. */
function failed(error, where = main) {
  if (error instanceof Unauthorized) {
    fill(where, h("div", { class: "notice", role: "alert" }, "This server requires an API key. ",
      h("button", { type: "button", onclick: askForKey }, "Enter a key")));
  } else {
    fill(where, h("p", { class: "error", role: "alert" }, String(error.message || error)));
  }
}

// --- the API key ---

const dialog = document.getElementById("key-dialog");
const keyButton = document.getElementById("key-button");

function askForKey() {
  document.getElementById("key-error").hidden = !apiKey();
  document.getElementById("key-error").textContent = apiKey() ? "The key given was not accepted." : "";
  if (!dialog.open) dialog.showModal();
}

window.addEventListener("sandrun:key-needed", () => {
  keyButton.hidden = false;
  askForKey();
});
keyButton.addEventListener("click", askForKey);
document.getElementById("key-form").addEventListener("submit", () => {
  setApiKey(document.getElementById("key-input").value.trim());
  document.getElementById("key-input").value = "";
  connect();
  route();
});
document.getElementById("key-forget").addEventListener("click", () => {
  setApiKey(null);
  dialog.close();
  connect();
  route();
});

// --- the theme: the system's, unless chosen here ---

const THEME = "sandrun.theme";
function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME));
document.getElementById("theme").addEventListener("click", () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  const theme = dark ? "light" : "dark";
  localStorage.setItem(THEME, theme);
  applyTheme(theme);
});

window.addEventListener("hashchange", () => {
  route();
  // A new page: reading starts at its top, as after a page load.
  main.focus({ preventScroll: true });
  scrollTo(0, 0);
});
if (apiKey()) keyButton.hidden = false;
connect();
route();
