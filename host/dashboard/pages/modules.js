// The uploaded modules: their hashes, names and sizes; upload one more.

import { get, post } from "../api.js";
import { fill, h } from "../dom.js";
import { ago, bytes } from "../format.js";

export function render(main, { failed }) {
  const body = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  const message = h("p", { role: "status", "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Upload a module" },
    h("div", {}, h("label", { for: "m-file" }, "Module (.wasm)"),
      h("input", { id: "m-file", name: "file", type: "file", accept: ".wasm,application/wasm", required: true })),
    h("div", {}, h("label", { for: "m-name" }, "Name (optional)"), h("input", { id: "m-name", name: "name", size: 14 })),
    h("div", {}, h("label", { for: "m-version" }, "Version"), h("input", { id: "m-version", name: "version", placeholder: "1.0.0", size: 8 })),
    h("button", { type: "submit", class: "primary" }, "Upload"));
  main.append(h("h1", {}, "Modules"), form, message, body);

  async function load() {
    try {
      const list = await get("/v1/modules");
      fill(body, list.modules.length ? table(list.modules) : h("p", { class: "empty" }, "No module has been uploaded."));
    } catch (error) {
      failed(error, body);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (form.elements.name.value.trim()) query.set("name", form.elements.name.value.trim());
    if (form.elements.version.value.trim()) query.set("version", form.elements.version.value.trim());
    try {
      const module = await post(`/v1/modules?${query}`, form.elements.file.files[0], { contentType: "application/wasm" });
      fill(message, `Uploaded ${module.hash}.`);
      form.reset();
      load();
    } catch (error) {
      failed(error, message);
    }
  });
  load();
}

function table(modules) {
  return h("table", { "aria-label": "Modules" },
    h("thead", {}, h("tr", {}, h("th", {}, "sha256"), h("th", {}, "Names"), h("th", { class: "num" }, "Size"),
      h("th", {}, "Uploaded"), h("th", {}, ""))),
    h("tbody", {}, modules.map((m) => h("tr", {},
      h("td", { class: "mono", title: m.hash }, m.hash.slice(0, 16) + "…"),
      h("td", {}, (m.names || []).map((n) => h("span", { class: "chip" }, n))),
      h("td", { class: "num" }, bytes(m.size)),
      h("td", { title: m.created_at }, ago(m.created_at)),
      h("td", {}, h("a", { href: `#/run?module=${m.hash}` }, "Run"))))));
}
