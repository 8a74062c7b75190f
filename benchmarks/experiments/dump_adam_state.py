"""Write Adam's flat state of W1 after two epochs (parameters, one fresh gradient, first and
second moments, float32) to DIR/{p,g,m,v}.bin, for exact_division.c:

    python benchmarks/experiments/dump_adam_state.py /tmp/w1state
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import WORKLOADS  # noqa: E402
from worker_descend import DescendRunner  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "w1state")
    out.mkdir(parents=True, exist_ok=True)
    r = DescendRunner(dict(workload=WORKLOADS["W1"], seed=42, threads=1))
    r.epoch(None)
    r.epoch(None)
    xb, yb = next(iter(r.train.batches(50, rng=r.rng)))
    r.opt.zero_grad(set_to_none=False)
    r.cross_entropy(r.model(xb), yb).backward()
    state = r.opt.state_dict()["state"][0]
    arrays = dict(
        p=np.concatenate([a.ravel() for a in r.opt.gather_parameters()]),
        g=np.concatenate([a.ravel() for a in r.opt.gather_gradients()]),
        m=state["exp_avg"], v=state["exp_avg_sq"])
    for name, a in arrays.items():
        a.astype(np.float32).tofile(out / f"{name}.bin")
    m = arrays["m"]
    sub = (np.abs(m) < np.finfo(np.float32).tiny) & (m != 0)
    print(f"{out}: {m.size} parameters, {sub.mean():.2%} of the first moments subnormal")


if __name__ == "__main__":
    main()
