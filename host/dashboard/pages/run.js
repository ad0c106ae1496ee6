// The run box: a Python snippet, or a module (uploaded here or already
// known), run by hand; the task's page then shows it running.

import { get, post } from "../api.js";
import { fill, h } from "../dom.js";
import { short } from "../format.js";

const EXAMPLE = `import sys, platform
print("hello from", platform.python_implementation(), sys.version.split()[0])
total = sum(i * i for i in range(1_000))
print("sum of squares:", total)
`;

export function render(main, { params, navigate, failed }) {
  const message = h("p", { role: "status", "aria-live": "polite" });
  const python = pythonForm();
  const wasm = moduleForm(params.get("module"));
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "What to run" });
  const panel = h("div", { class: "panel", role: "tabpanel" });
  function choose(which) {
    fill(tabs,
      h("button", { type: "button", role: "tab", "aria-selected": String(which === "python"), onclick: () => choose("python") }, "Python"),
      h("button", { type: "button", role: "tab", "aria-selected": String(which === "wasm"), onclick: () => choose("wasm") }, "WebAssembly module"));
    fill(panel, which === "python" ? python : wasm);
  }
  choose(params.get("module") ? "wasm" : "python");
  main.append(h("h1", {}, "Run a task"), tabs, panel, message);

  async function submit(request) {
    fill(message, "Submitting…");
    try {
      const task = await post("/v1/tasks", request);
      navigate(`#/tasks/${task.id}`);
    } catch (error) {
      failed(error, message);
    }
  }

  function limits(form) {
    const seconds = Number(form.elements.timeout.value);
    return seconds > 0 ? { timeout_ms: Math.round(seconds * 1000) } : {};
  }

  /** The request's `input` from the form, or null (said why) if not JSON. */
  function input(form) {
    const text = form.elements.input.value.trim();
    try {
      return text ? { input: JSON.parse(text) } : {};
    } catch {
      fill(message, h("span", { class: "error" }, "The input is not valid JSON."));
      return null;
    }
  }

  function common() {
    return [
      h("div", {}, h("label", { for: "run-input" }, "Input (JSON, optional)"),
        h("input", { id: "run-input", name: "input", placeholder: '{"n": 10}', size: 30 })),
      h("div", {}, h("label", { for: "run-timeout" }, "Timeout (seconds)"),
        h("input", { id: "run-timeout", name: "timeout", type: "number", min: "0.1", step: "0.1", value: "10", size: 6 })),
    ];
  }

  function pythonForm() {
    const form = h("form", { "aria-label": "Run Python" },
      h("label", { for: "run-code" }, "Python code"),
      h("textarea", { id: "run-code", name: "code", spellcheck: "false", required: true }, EXAMPLE),
      h("div", { class: "filters" }, common(),
        h("button", { type: "submit", class: "primary" }, "Run ", h("kbd", {}, "Ctrl+Enter"))));
    form.elements.code.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "Tab" && !event.shiftKey && !event.altKey) {
        // Tab indents in the editor; Escape then Tab leaves it.
        if (form.elements.code.dataset.escaped) return;
        event.preventDefault();
        const area = form.elements.code;
        area.setRangeText("    ", area.selectionStart, area.selectionEnd, "end");
      } else {
        form.elements.code.dataset.escaped = event.key === "Escape" ? "1" : "";
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const extra = input(form);
      if (!extra) return;
      submit({ runtime: "python", code: form.elements.code.value, limits: limits(form), ...extra });
    });
    return form;
  }

  function moduleForm(chosen) {
    const known = h("select", { id: "run-module", name: "module" }, h("option", { value: "" }, "upload one below"));
    get("/v1/modules").then((list) => {
      for (const module of list.modules) {
        const names = module.names || [];
        const label = names.length ? `${names.join(", ")} (${short(module.hash)})` : short(module.hash);
        known.append(h("option", { value: module.hash, selected: module.hash === chosen }, label));
      }
    }).catch(() => {});
    const form = h("form", { "aria-label": "Run a WebAssembly module" },
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "run-module" }, "Module"), known),
        h("div", {}, h("label", { for: "run-file" }, "or upload a .wasm file"),
          h("input", { id: "run-file", name: "file", type: "file", accept: ".wasm,application/wasm" })),
        h("div", {}, h("label", { for: "run-args" }, "Arguments"),
          h("input", { id: "run-args", name: "args", placeholder: "space separated", size: 20 }))),
      h("div", { class: "filters" }, common(), h("button", { type: "submit", class: "primary" }, "Run")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const extra = input(form);
      if (!extra) return;
      let module = form.elements.module.value;
      const file = form.elements.file.files[0];
      try {
        if (file) {
          fill(message, "Uploading…");
          module = (await post("/v1/modules", file, { contentType: "application/wasm" })).hash;
        }
      } catch (error) {
        failed(error, message);
        return;
      }
      if (!module) {
        fill(message, h("span", { class: "error" }, "Choose a module or upload one."));
        return;
      }
      const args = form.elements.args.value.split(/\s+/).filter(Boolean);
      submit({ runtime: "wasm", module, args, limits: limits(form), ...extra });
    });
    return form;
  }
}
