# Summarise a CSV input file with pandas: per-column statistics, and the
# mean of `value` by `group` when the input names those columns.
import pandas as pd

import sandrun

params = sandrun.input() or {}
frame = pd.read_csv(f"/input/{params.get('file', 'data.csv')}")
sandrun.log(f"read {len(frame)} rows, {len(frame.columns)} columns")
summary = {
    "rows": len(frame),
    "columns": list(frame.columns),
    "numeric": {
        name: {"mean": float(col.mean()), "min": float(col.min()), "max": float(col.max())}
        for name, col in frame.select_dtypes("number").items()
    },
}
group, value = params.get("group"), params.get("value")
if group and value:
    means = frame.groupby(group)[value].mean().sort_index()
    summary["mean_by_group"] = {str(k): float(v) for k, v in means.items()}
sandrun.output(summary)
