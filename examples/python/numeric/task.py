# A numeric job with numpy and scipy: fit y = a * exp(b * x) to the given
# points and integrate the fitted curve over their range.
import numpy as np
from scipy import integrate, optimize

import sandrun

data = sandrun.input()
x = np.asarray(data["x"], dtype=float)
y = np.asarray(data["y"], dtype=float)
sandrun.progress(0.1)
(a, b), _ = optimize.curve_fit(lambda t, a, b: a * np.exp(b * t), x, y, p0=(1.0, 0.1))
sandrun.progress(0.6)
area, error = integrate.quad(lambda t: a * np.exp(b * t), x.min(), x.max())
sandrun.progress(1.0)
sandrun.output({"a": round(a, 6), "b": round(b, 6), "area": round(area, 6)})
