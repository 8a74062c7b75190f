"""The PyTorch program equivalent to ``descend train --epochs 1`` with its defaults: MNIST
(55,000 / 5,000 / 10,000), MLP 784-128-10 ReLU with Glorot-uniform weights and zero biases,
SGD lr 0.01, batch 50, shuffled minibatches; dev accuracy after each epoch, test accuracy at
the end. Timed as a whole process (imports, data loading, training, evaluation)."""

import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import torch

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def read_idx(path: Path) -> np.ndarray:
    gz = path.with_name(path.name + ".gz")
    raw = gzip.open(gz).read() if gz.exists() else path.read_bytes()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data_dir", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = Path(args.data_dir)
    images, labels, test_images, test_labels = (read_idx(d / f) for f in FILES)
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / np.float32(255))
    y = torch.from_numpy(labels.astype(np.int64))
    tx = torch.from_numpy(test_images.reshape(len(test_images), -1).astype(np.float32) / np.float32(255))
    ty = torch.from_numpy(test_labels.astype(np.int64))
    x, dx, y, dy = x[:55000], x[55000:], y[:55000], y[55000:]
    model = torch.nn.Sequential(torch.nn.Linear(784, args.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(args.hidden, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for s in range(0, len(x), args.batch_size):
            idx = order[s:s + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            dev_logits = model(dx)
            dev_loss = loss_fn(dev_logits, dy).item()
            dev_acc = (dev_logits.argmax(1) == dy).float().mean().item()
        print(f"Epoch {epoch + 1}/{args.epochs} {time.perf_counter() - start:.1f}s "
              f"loss={total / len(x):.4f} dev_loss={dev_loss:.4f} dev_accuracy={dev_acc:.4f}")
    with torch.no_grad():
        test_acc = (model(tx).argmax(1) == ty).float().mean().item()
    print(f"test_accuracy={test_acc:.4f}")


if __name__ == "__main__":
    main()
