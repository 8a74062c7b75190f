"""JAX side of the benchmark (only when jax is installed): the same network, initial weights,
data order and hyperparameters; one epoch is a jit-compiled ``lax.scan`` over the full
minibatches, each step gathering its minibatch from the device-resident data by index inside
the compiled code (plus one jitted step for a final partial batch), with the optimizer written
out in PyTorch's formulas. Variant "step" (framework ``jax-step``) instead calls one jitted
step (gather included) per minibatch from Python. Compilation happens in the first epoch."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import initial_weights, load_mnist_arrays, read_spec, serve, shuffle_rng  # noqa: E402


class JaxRunner:
    def __init__(self, spec):
        if spec.get("threads") == 1:
            # XLA's CPU backend runs larger ops on a thread per core whatever its flags say;
            # one core (the process's current one) makes it single-threaded like the others.
            flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
            if hasattr(os, "sched_setaffinity"):
                cores = sorted(os.sched_getaffinity(0))
                os.sched_setaffinity(0, {cores[os.getpid() % len(cores)]})
        t0 = time.perf_counter()
        import jax
        import jax.numpy as jnp
        self.import_s = time.perf_counter() - t0
        self.jax, self.jnp = jax, jnp
        w = spec["workload"]
        x, y, dx, dy, tx, ty = load_mnist_arrays(spec.get("data_dir"))
        self.inference = w.get("inference", False)
        self.x = jnp.asarray(tx if self.inference else x)
        self.y = jnp.asarray(ty if self.inference else y).astype(jnp.int32)
        self.dx, self.dy = jnp.asarray(dx), jnp.asarray(dy)
        self.params = [jnp.asarray(p) for p in initial_weights(w["sizes"], spec["seed"])]
        act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[w["act"]]
        self.batch, self.passes = w["batch"], w.get("passes", 1)
        self.rng = shuffle_rng(spec["seed"])
        opt, hp = w["opt"], w["hp"]

        def forward(params, xb):
            h = xb
            for i in range(0, len(params), 2):
                h = h @ params[i] + params[i + 1]
                if i + 2 < len(params):
                    h = act(h)
            return h

        def loss_fn(params, xb, yb):
            logp = jax.nn.log_softmax(forward(params, xb))
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

        lr = hp.get("lr", 1e-3)

        def update(state, grads):
            params, m, v, t = state
            if opt == "adam":
                b1, b2, eps = 0.9, 0.999, 1e-8
                t = t + 1
                m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
                v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                params = [p - (lr / bc1) * mi / (jnp.sqrt(vi) / jnp.sqrt(bc2) + eps)
                          for p, mi, vi in zip(params, m, v)]
            else:
                mu, nesterov = hp.get("momentum", 0.0), hp.get("nesterov", False)
                if mu:
                    m = [jnp.where(t == 0, g, mu * mi + g) for mi, g in zip(m, grads)]
                    d = [g + mu * mi for g, mi in zip(grads, m)] if nesterov else m
                    t = t + 1
                else:
                    d = grads
                params = [p - lr * di for p, di in zip(params, d)]
            return params, m, v, t

        def step(state, batch):
            xb, yb = batch
            grads = jax.grad(loss_fn)(state[0], xb, yb)
            return update(state, grads), None

        def gather_step(data, state, idx):
            # The minibatch gather is part of the compiled step, as the other frameworks
            # gather per step: gathering the whole epoch eagerly first cost 0.46 s of W1.
            x, y = data
            return step(state, (x[idx], y[idx]))

        self.per_step = spec.get("variant") == "step"
        self.gather_step = jax.jit(lambda state, x, y, idx: gather_step((x, y), state, idx)[0])
        self.step = jax.jit(lambda state, xb, yb: step(state, (xb, yb))[0])
        self.scan = jax.jit(lambda state, x, y, idxs: jax.lax.scan(
            lambda st, idx: gather_step((x, y), st, idx), state, idxs)[0])
        self.predict = jax.jit(lambda params, xb: jnp.argmax(forward(params, xb), axis=1))
        zeros = [jnp.zeros_like(p) for p in self.params]
        self.state = (self.params, zeros, list(zeros), jnp.asarray(0, jnp.float32))
        self.info = dict(import_s=self.import_s, version=jax.__version__)

    def epoch(self, max_steps):
        jnp = self.jnp
        x, y, bs = self.x, self.y, self.batch
        n = len(x)
        if self.inference:
            for _ in range(self.passes):
                outs = [self.predict(self.state[0], x[s:s + bs]) for s in range(0, n, bs)]
                outs[-1].block_until_ready()
            return
        order = jnp.asarray(self.rng.permutation(n))
        full = n // bs
        if max_steps is not None:
            full = min(full, max_steps)
        idxs = order[: full * bs].reshape(full, bs)
        if self.per_step:  # "jax-step": one jitted step per minibatch, called from Python
            state = self.state
            for i in range(full):
                state = self.gather_step(state, x, y, idxs[i])
        else:
            state = self.scan(self.state, x, y, idxs)
        if (max_steps is None or max_steps > full) and full * bs < n:
            rest = order[full * bs:]
            state = self.step(state, x[rest], y[rest])
        self.jax.block_until_ready(state)
        self.state = state

    def evaluate(self):
        pred = self.predict(self.state[0], self.dx)
        return float((pred == self.dy).mean())


if __name__ == "__main__":
    spec = read_spec()
    serve(spec, JaxRunner(spec))
