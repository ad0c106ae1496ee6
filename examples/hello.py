# A first task: the scientific stack is inside the sandbox, the host is not.
import os
import sys

import numpy as np

print(f"Python {sys.version.split()[0]} on {sys.platform}")
print("numpy says 1 + 2 + ... + 100 =", int(np.arange(101).sum()))
print("what the guest can see at /:", sorted(os.listdir("/")) if os.path.exists("/") else "nothing")
