"""Train a tiny network on generated data with plain SGD, using only descend's engine.

    python examples/tiny_network.py

A 2-16-1 tanh network learns y = sin(3 x1) * x2 from 512 noisy samples; the loss (MSE, the
negative log-likelihood of a Normal with fixed variance, up to constants) falls as it trains.
"""

import numpy as np

import descend as ds

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (512, 2)).astype(np.float32)
y = (np.sin(3 * x[:, :1]) * x[:, 1:] + 0.05 * rng.standard_normal((512, 1))).astype(np.float32)

limit1, limit2 = np.sqrt(6 / (2 + 16)), np.sqrt(6 / (16 + 1))  # Glorot uniform
w1 = ds.tensor(rng.uniform(-limit1, limit1, (2, 16)), dtype=np.float32, requires_grad=True)
b1 = ds.zeros(16, requires_grad=True)
w2 = ds.tensor(rng.uniform(-limit2, limit2, (16, 1)), dtype=np.float32, requires_grad=True)
b2 = ds.zeros(1, requires_grad=True)
params = [w1, b1, w2, b2]

learning_rate, batch_size = 0.2, 32
for epoch in range(1, 41):
    permutation = rng.permutation(len(x))  # a fresh shuffle every epoch
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = permutation[start:start + batch_size]
        hidden = ds.linear(x[batch], w1, b1).tanh()
        loss = ((ds.linear(hidden, w2, b2) - y[batch]) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with ds.no_grad():
            for p in params:
                p.data -= learning_rate * p.grad  # theta <- theta - alpha * g
        total += loss.item() * len(batch)
    if epoch % 10 == 0 or epoch == 1:
        print(f"Epoch {epoch}/40 loss={total / len(x):.4f}")
