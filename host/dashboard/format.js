// Numbers and times as people read them.

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function ms(value) {
  if (value === null || value === undefined) return "";
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(1)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

/** How long between two times, or from `start` until now. */
export function span(start, end) {
  if (!start) return "";
  return ms((end ? Date.parse(end) : Date.now()) - Date.parse(start));
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function count(n) {
  return Number(n || 0).toLocaleString();
}

export function short(id) {
  return id ? id.slice(0, 8) + "…" + id.slice(-4) : "";
}
