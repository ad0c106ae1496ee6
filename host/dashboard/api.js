// The API, as the dashboard calls it. The key (when the server needs one)
// lives in this tab's session storage and travels only as a Bearer header:
// event streams are read with fetch for that reason, since EventSource
// cannot send headers and a key in a URL would end up in logs.

const KEY = "sandrun.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** The server answered 401: a key is needed, or the one given is wrong. */
export class Unauthorized extends Error {
  constructor() {
    super("an API key is needed");
  }
}

/** An RFC 9457 problem the server answered. */
export class Problem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra) {
  const h = new Headers(extra || {});
  const key = apiKey();
  if (key) h.set("Authorization", `Bearer ${key}`);
  return h;
}

async function check(response) {
  if (response.status === 401) {
    window.dispatchEvent(new Event("sandrun:key-needed"));
    throw new Unauthorized();
  }
  if (!response.ok) {
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText };
    }
    throw new Problem(response.status, problem);
  }
  return response;
}

/** `method path` with a JSON body (or bytes); the JSON answer, or null. */
export async function call(method, path, body, { signal, contentType } = {}) {
  const init = { method, headers: headers(), signal };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    init.body = body;
    init.headers.set("Content-Type", contentType || "application/octet-stream");
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers.set("Content-Type", "application/json");
  }
  const response = await check(await fetch(path, init));
  return response.status === 204 ? null : response.json();
}

export const get = (path, options) => call("GET", path, undefined, options);
export const post = (path, body, options) => call("POST", path, body, options);
export const remove = (path) => call("DELETE", path);

/** The bytes at `path`, as a Blob (artifacts, which need the key too). */
export async function blob(path) {
  const response = await check(await fetch(path, { headers: headers() }));
  return response.blob();
}

/**
 * Follow the Server-Sent Events at `path`: `onEvent(name, data)` for each,
 * `onState("live" | "down")` as the connection comes and goes. It
 * reconnects after a drop (with a growing pause) until `close()`, or until
 * `onEvent` returns `false` (the stream's last event).
 */
export function follow(path, onEvent, onState = () => {}) {
  const stop = new AbortController();
  let pause = 500;
  (async () => {
    while (!stop.signal.aborted) {
      try {
        const response = await check(await fetch(path, {
          headers: headers({ Accept: "text/event-stream" }),
          signal: stop.signal,
        }));
        onState("live");
        pause = 500;
        if ((await read(response.body, onEvent)) === false) return;
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error instanceof Unauthorized) {
          onState("down");
          return;
        }
      }
      onState("down");
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 8000);
    }
  })();
  return { close: () => stop.abort() };
}

/** Feed an SSE body to `onEvent`; `false` once `onEvent` said to stop. */
async function read(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line === "") {
        if (data.length) {
          const keepGoing = onEvent(name, JSON.parse(data.join("\n")));
          if (keepGoing === false) {
            reader.cancel();
            return false;
          }
        }
        name = "message";
        data = [];
      } else if (line.startsWith("event:")) {
        name = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  }
}
