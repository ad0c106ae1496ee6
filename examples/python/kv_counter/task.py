# A counter kept in the task's kv namespace: each run adds `by` (default 1)
# to the counter `name` and returns the new total; `reset: true` deletes it.
import sandrun

params = sandrun.input() or {}
name = params.get("name", "visits")
if params.get("reset"):
    existed = sandrun.kv.delete(name)
    sandrun.output({"name": name, "reset": existed})
else:
    total = sandrun.kv.get(name, 0) + params.get("by", 1)
    sandrun.kv.put(name, total)
    sandrun.log("info", f"{name} is now {total}")
    sandrun.output({"name": name, "total": total})
