"""ds.trace: every node u(i) of a graph with its gradient g(i), checked against the engine."""

from __future__ import annotations

import pathlib
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import descend as ds
from descend import functional as F
from descend import nn, optim
from op_catalogue import CASE_IDS, CASES, inputs_for

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "tracing.md"


def _weighted(out):
    weights = np.random.default_rng(5).standard_normal(out.shape)
    return (out * ds.tensor(weights, dtype=out.dtype)).sum()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_trace_gradients_equal_the_engines_for_every_op(case):
    leaves = [ds.tensor(a, dtype=np.float64, requires_grad=True) for a in inputs_for(case, seed=3)]
    out = case.descend(*leaves)
    loss = _weighted(out)
    t = ds.trace(loss, names={"out": out})
    out.retain_grad()
    loss.backward()
    for leaf in leaves:
        np.testing.assert_allclose(t.node_of(leaf).grad, leaf.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t["out"].grad, out.grad, rtol=1e-12, atol=1e-12)


def _mlp_graph():
    ds.manual_seed(1)
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    x = ds.tensor(np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32))
    y = np.array([0, 2, 1, 1, 0, 2])
    hidden = net[1](net[0](x))
    logits = net[2](hidden)
    loss = F.cross_entropy(logits, y)
    return net, x, y, hidden, logits, loss


def test_every_nodes_gradient_equals_retain_grad_after_backward():
    net, x, y, hidden, logits, loss = _mlp_graph()
    t = ds.trace(loss, names={"x": x, "hidden": hidden, "logits": logits, "loss": loss}, module=net)
    nonleaves = [node.tensor for node in t if node.op not in ("leaf", "constant")]
    for tensor in nonleaves:
        tensor.retain_grad()
    loss.backward()
    for node in t:
        if node.op == "constant":
            assert node.grad is None
        else:
            np.testing.assert_allclose(node.grad, node.tensor.grad, rtol=1e-6, atol=1e-7, err_msg=node.name)
    assert [t[n].op for n in ("0.weight", "0.bias", "2.weight", "2.bias")] == ["leaf"] * 4


def test_order_is_topological_and_ends_at_the_output_with_g_n_one():
    net, x, y, hidden, logits, loss = _mlp_graph()
    t = ds.trace(loss, module=net)
    assert [node.index for node in t] == list(range(1, len(t) + 1))
    for node in t:
        assert all(i < node.index for i in node.inputs)
        assert all(j > node.index for j in node.consumers)
    last = t[len(t)]
    assert last.tensor is loss and last.grad == 1.0 and last.consumers == []
    assert len([n for n in t if n.op == "leaf"]) == 4


def test_a_node_used_twice_sums_both_paths():
    x = ds.tensor(3.0, dtype=np.float64, requires_grad=True)
    b = x * 2
    y = b * b + b  # b has two consumers: dy/db = 2b + 1 = 13
    t = ds.trace(y, names={"x": x, "b": b})
    assert t["b"].grad == pytest.approx(13.0) and t["x"].grad == pytest.approx(26.0)
    assert len(t["b"].consumers) == 2


def test_the_trace_leaves_grads_and_graph_alone_even_with_optimizer_buffers():
    net, x, y, hidden, logits, loss = _mlp_graph()
    opt = optim.SGD(net.parameters(), lr=0.1)  # registers flat gradient buffers (direct writes)
    opt.zero_grad()
    t = ds.trace(loss, module=net)
    assert all(p.grad is None for p in net.parameters())
    loss.backward()  # still possible: the trace freed nothing
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, t[name].grad, rtol=1e-6, atol=1e-7)


def test_trace_after_backward_explains_retain_graph():
    net, x, y, hidden, logits, loss = _mlp_graph()
    loss.backward()
    with pytest.raises(RuntimeError, match="before backward.*retain_graph=True"):
        ds.trace(loss)
    net, x, y, hidden, logits, loss = _mlp_graph()
    loss.backward(retain_graph=True)
    assert ds.trace(loss, module=net)["0.weight"].grad.shape == (5, 4)


def test_non_scalar_output_needs_grad():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*grad="):
        ds.trace(y)
    t = ds.trace(y, grad=np.array([1.0, 0.5]), names={"x": x})
    assert t["x"].grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.trace(ds.tensor([1.0]).sum())
    with pytest.raises(TypeError, match="Tensor"):
        ds.trace(np.ones(2))


def test_lookup_by_name_index_and_tensor():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()
    t = ds.trace(h.sum(), names={"x": x, "h": h})
    assert t["h"] is t[2] is t.node_of(h)
    with pytest.raises(KeyError, match="no node named 'q'"):
        t["q"]
    with pytest.raises(IndexError, match="u\\(1\\) to u\\(3\\)"):
        t[0]
    with pytest.raises(ValueError, match="one tensor two names, 'a' and 'c'"):
        ds.trace(h.sum(), names={"a": x, "b": h, "c": x})
    layer = nn.Linear(2, 1)
    y = layer(x.reshape(1, 2)).sum()
    assert ds.trace(y, names={"W": layer.weight}, module=layer)["W"].tensor is layer.weight
    with pytest.raises(ValueError, match="same name"):
        ds.trace(y, names={"weight": x}, module=layer)


# ---------------------------------------------------------------------------- compare
def _student(net, x, y, hidden, logits, tanh_bug=False):
    w1, w2 = net[0].weight.data, net[2].weight.data
    p = np.exp(logits.data - logits.data.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(3)[y]) / len(y)
    dh = dz @ w2.T
    da = dh if tanh_bug else dh * (1 - hidden.data ** 2)
    return {"logits": dz, "2.weight": hidden.data.T @ dz, "2.bias": dz.sum(0), "hidden": dh,
            "0.weight": x.data.T @ da, "0.bias": da.sum(0)}, da


def test_compare_agrees_with_a_correct_derivation():
    net, x, y, hidden, logits, loss = _mlp_graph()
    t = ds.trace(loss, names={"hidden": hidden, "logits": logits}, module=net)
    mine, _ = _student(net, x, y, hidden, logits)
    result = t.compare(mine)
    assert result.ok and bool(result) and result.node is None
    assert "all 6 gradients agree" in str(result)


def test_compare_names_the_first_diverging_node_in_backward_order():
    net, x, y, hidden, logits, loss = _mlp_graph()
    pre = net[0](x)  # rebuild with the pre-activation named
    hidden = net[1](pre)
    logits = net[2](hidden)
    loss = F.cross_entropy(logits, y)
    t = ds.trace(loss, names={"pre": pre, "hidden": hidden, "logits": logits}, module=net)
    mine, da = _student(net, x, y, hidden, logits, tanh_bug=True)
    mine["pre"] = da
    result = t.compare(mine)
    assert not result.ok and result.node.name == "pre"
    assert re.search(r"first divergence in backward order: u\(\d+\) 'pre' \(Linear", result.message)
    assert "'hidden' (Tanh)" in result.message  # the step to check: through tanh
    np.testing.assert_allclose(result.actual, t["pre"].grad)
    # Without the pre-activation, the first wrong one is a parameter below it (the bias is
    # numbered after the weight, so it comes first in backward order).
    del mine["pre"]
    assert t.compare(mine).node.name == "0.bias"


def test_compare_keys_and_errors():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    c = ds.tensor([3.0, 4.0])
    h = x * c
    t = ds.trace(h.sum(), names={"x": x, "c": c, "h": h})
    assert t.compare({x: [3.0, 4.0], 3: np.ones(2)}).ok  # by tensor and by index i
    assert not t.compare({"x": [3.0, 4.1]}).ok
    assert t.compare({"x": [3.0, 4.0 + 1e-5]}, rtol=1e-4).ok
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        t.compare({"x": np.ones(3)})
    with pytest.raises(ValueError, match="does not require grad"):
        t.compare({"c": np.ones(2)})
    with pytest.raises(KeyError, match="not a node"):
        t.compare({ds.tensor([1.0]): np.ones(1)})


# -------------------------------------------------------------------------- rendering
def test_renderings(tmp_path):
    net, x, y, hidden, logits, loss = _mlp_graph()
    t = ds.trace(loss, names={"hidden": hidden}, module=net)
    table = str(t)
    assert table.splitlines()[0].split() == ["i", "name", "op", "inputs", "shape", "value", "g(i)"]
    assert len(table.splitlines()) == len(t) + 2 and "hidden" in table and "Tanh" in table
    svg = ET.fromstring(t.to_svg())
    texts = [e.text for e in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert sum(1 for s in texts if re.match(r"u\(\d+\) ", s)) == len(t)
    edges = sum(len(node.inputs) for node in t)
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) == edges + 1  # + the arrow head
    dot = t.to_dot()
    assert dot.count("->") == edges and dot.startswith("digraph")
    page = t.to_html(title="MLP <trace>")
    assert "<svg" in page and page.count("<tr>") == len(t) + 1 and "MLP &lt;trace&gt;" in page
    for suffix, marker in ((".html", "<!DOCTYPE html>"), (".svg", "<svg"), (".dot", "digraph"), (".txt", "g(i)")):
        path = t.save(tmp_path / f"trace{suffix}")
        assert marker in path.read_text()
    with pytest.raises(ValueError, match=r"\.html, \.svg, \.dot or \.txt"):
        t.save(tmp_path / "trace.png")
    assert not (tmp_path / "trace.png").exists()


def test_value_summaries():
    from descend.tracing import summarize

    assert summarize(None) == "-"
    assert summarize(np.array(2.5)) == "2.5"
    assert summarize(np.array([1.0, 2.0])) == "[1, 2]"
    assert summarize(np.arange(10.0)) == "min 0, mean 4.5, max 9"
    assert summarize(np.array([1.0, np.nan] * 4)) == "min 1, mean 1, max 1, 4 non-finite"


# ----------------------------------------------------------------------- the docs' example
def test_the_documented_784_20_10_example_runs_and_finds_the_tanh_bug(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2 and "784, 20" in blocks[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    out = capsys.readouterr().out
    assert "first divergence in backward order: u(4) 'a1' (Linear, shape (4, 20))" in out
    assert "all 7 gradients agree" in out
    assert (tmp_path / "trace.html").exists()
    names = [line.split()[1] for line in out.splitlines()[2:11]]
    assert names == ["x", "fc1.weight", "fc1.bias", "a1", "h", "fc2.weight", "fc2.bias", "z", "loss"]
    doc_table = re.search(r"```text\n(i  name.*?)```", DOC.read_text(), flags=re.S).group(1)
    assert [line.split()[1] for line in doc_table.splitlines()[2:11]] == names
    exec(compile(blocks[1], str(DOC), "exec"), namespace)  # noqa: S102
    assert namespace["h"].grad.shape == (4, 20) and "|g(h)| =" in capsys.readouterr().out


@pytest.mark.parametrize("name, make", [
    ("mse", lambda z, y, p: F.mse_loss(z, p)),
    ("gaussian_nll", lambda z, y, p: F.gaussian_nll_loss(z, p, z.exp())),
    ("bce_logits", lambda z, y, p: F.binary_cross_entropy_with_logits(z, p)),
    ("bce", lambda z, y, p: F.binary_cross_entropy(z.sigmoid(), p)),
    ("cross_entropy", lambda z, y, p: F.cross_entropy(z, y, label_smoothing=0.1)),
    ("nll", lambda z, y, p: F.nll_loss(z.log_softmax(axis=1), y)),
    ("kl_div", lambda z, y, p: F.kl_div(z.log_softmax(axis=1), p / p.sum(axis=1, keepdims=True))),
    ("dropout", lambda z, y, p: (F.dropout(z, 0.5, training=True) ** 2).sum()),
])
def test_trace_matches_backward_through_every_loss(name, make):
    rng = np.random.default_rng(2)
    z = ds.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 1, 0])
    p = rng.uniform(0.05, 0.95, (5, 3))
    ds.manual_seed(0)
    loss = make(z, y, p)
    t = ds.trace(loss, names={"z": z})
    loss.backward()
    np.testing.assert_allclose(t["z"].grad, z.grad, rtol=1e-12, atol=1e-14)


def test_trace_matches_pytorch_retained_gradients():
    torch = pytest.importorskip("torch")
    net, x, y, hidden, logits, loss = _mlp_graph()
    t = ds.trace(loss, names={"hidden": hidden, "logits": logits}, module=net)
    params = {name: torch.tensor(p.data.astype(np.float64), requires_grad=True) for name, p in net.named_parameters()}
    xt = torch.tensor(x.data.astype(np.float64))
    h = torch.tanh(xt @ params["0.weight"] + params["0.bias"])
    z = h @ params["2.weight"] + params["2.bias"]
    h.retain_grad()
    z.retain_grad()
    torch.nn.functional.cross_entropy(z, torch.tensor(y)).backward()
    np.testing.assert_allclose(t["hidden"].grad, h.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(t["logits"].grad, z.grad.numpy(), rtol=1e-5, atol=1e-7)
    for name, p in params.items():
        np.testing.assert_allclose(t[name].grad, p.grad.numpy(), rtol=1e-5, atol=1e-7)
