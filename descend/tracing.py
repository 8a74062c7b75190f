"""Seeing inside backpropagation: every node u(i) of a graph with its gradient g(i).

The lecture defines backpropagation on a graph of nodes u(1), ..., u(n) in topological order:
forward propagation computes each u(i) from its inputs, and backward propagation sets
g(n) = 1 at the output and then, for i = n-1 down to 1,

    g(i) = sum over the successors j of u(i) of  g(j) * du(j)/du(i)

(for tensor nodes, a vector-Jacobian product). ``loss.backward()`` keeps only the leaves'
gradients; ``trace(loss)`` computes and keeps g(i) for every node, so a hand derivation can be
checked node by node:

>>> import numpy as np, descend as ds
>>> w = ds.tensor([[0.5, 1.0]], requires_grad=True)
>>> x = ds.tensor([[2.0], [1.0]])
>>> h = (w @ x).tanh()
>>> t = ds.trace(h.sum(), names={"w": w, "x": x, "h": h})
>>> [node.name for node in t]
['w', 'x', 'matmul_3', 'h', 'sum_5']
>>> result = t.compare({"h": np.ones((1, 1)), "w": np.array([[2.0, 1.0]])})  # forgot tanh'
>>> result.ok, result.node.name
(False, 'w')

The trace runs its own reverse pass, the lecture's loop written out over the recorded ops
(each op's ``backward`` is its local vector-Jacobian product), so it neither touches the
leaves' ``.grad`` nor frees the graph: ``loss.backward()`` can follow it. Hooks are not run
(the trace shows the plain gradients). It needs the values the ops saved for backward, so
call it before ``backward()`` (or after ``backward(retain_graph=True)``).

Rendering: ``str(t)`` is a text table, ``to_svg()`` draws the graph (inputs on the left,
the output on the right), ``to_html()`` is a self-contained page with both, ``to_dot()`` is
Graphviz source, and ``save(path)`` writes one of them by the file's suffix.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .autograd import unbroadcast
from .fileio import atomic_write
from .tensor import Tensor

__all__ = ["trace", "Trace", "TraceNode", "Comparison"]


@dataclass(eq=False)
class TraceNode:
    """One node u(i): a tensor, the op that computed it, and its gradient g(i).

    ``index`` is i (1-based, in topological order: every input before its consumers);
    ``inputs`` and ``consumers`` are indices of the nodes it reads and that read it; ``op`` is
    the op's class name, or ``"leaf"`` (requires grad) / ``"constant"`` for inputs;
    ``grad`` is d(output)/d(u(i)), or None for a node that does not require grad.
    """

    index: int
    name: str
    op: str
    tensor: Tensor
    inputs: tuple[int, ...]
    consumers: list[int] = field(default_factory=list)
    grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.tensor.data.shape

    @property
    def value(self) -> np.ndarray:
        return self.tensor.data

    def describe(self) -> str:
        return f"u({self.index}) {self.name!r} ({self.op}, shape {self.shape})"


@dataclass
class Comparison:
    """The result of ``Trace.compare``: ``ok``, and where it is not, the first node in backward
    order (from the output towards the inputs) whose hand-computed gradient differs from g(i)."""

    ok: bool
    checked: list[int]
    node: TraceNode | None = None
    expected: np.ndarray | None = None
    actual: np.ndarray | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


def summarize(array: np.ndarray | None, limit: int = 6) -> str:
    """A short description of an array's values: all of them when there are at most
    ``limit``, else the range and the mean."""
    if array is None:
        return "-"
    a = np.asarray(array)
    if a.size <= limit:
        values = ", ".join(f"{v:.4g}" for v in a.reshape(-1).tolist())
        return values if a.ndim == 0 else f"[{values}]"
    if a.dtype.kind not in "fiub":
        return f"{a.dtype} array"
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    bad = a.size - finite.size
    if finite.size == 0:
        return f"all {a.size} non-finite"
    text = f"min {finite.min():.4g}, mean {finite.mean():.4g}, max {finite.max():.4g}"
    return text + (f", {bad} non-finite" if bad else "")


class Trace:
    """The nodes of a graph in topological order with their gradients (see ``trace``).

    Iterating gives the ``TraceNode`` objects in order u(1), ..., u(n); ``t["h"]`` and
    ``t[3]`` give a node by name or by its 1-based index i.
    """

    def __init__(self, nodes: list[TraceNode]) -> None:
        self.nodes = nodes
        self._by_name = {node.name: node for node in nodes}

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[TraceNode]:
        return iter(self.nodes)

    def __getitem__(self, key: str | int) -> TraceNode:
        if isinstance(key, str):
            if key not in self._by_name:
                raise KeyError(f"no node named {key!r}; the names are {sorted(self._by_name)}")
            return self._by_name[key]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not 1 <= key <= len(self.nodes):
                raise IndexError(f"node index {key} is out of range: the nodes are u(1) to u({len(self.nodes)})")
            return self.nodes[key - 1]
        raise TypeError(f"a node is looked up by name (str) or by its index i (int), got {type(key).__name__}")

    def node_of(self, key: str | int | Tensor) -> TraceNode:
        """The node for a name, an index i or the tensor itself."""
        if isinstance(key, Tensor):
            for node in self.nodes:
                if node.tensor is key:
                    return node
            raise KeyError("that tensor is not a node of this graph")
        return self[key]

    # ----------------------------------------------------------------- comparing
    def compare(
        self, expected: Mapping[Any, Any], rtol: float = 1e-4, atol: float = 1e-6
    ) -> Comparison:
        """Check hand-computed gradients against the engine's, node by node.

        ``expected`` maps nodes (by name, index i or the tensor) to the gradient you derived,
        d(output)/d(node), of the node's shape. Nodes are checked in backward order (from the
        output towards the inputs, the order in which backpropagation computes them), and the
        first one where ``|yours - g(i)| <= atol + rtol |g(i)|`` fails is reported: the nodes
        after it in backward order agree, so the mistake is in the step that computes g(i)
        from its consumers' gradients.
        """
        resolved: dict[int, np.ndarray] = {}
        for key, value in expected.items():
            node = self.node_of(key)
            if node.grad is None:
                raise ValueError(f"{node.describe()} does not require grad, so it has no gradient to compare")
            array = np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)
            if array.shape != node.shape:
                raise ValueError(
                    f"the gradient given for {node.describe()} has shape {array.shape}; a "
                    f"gradient has its node's shape {node.shape}"
                )
            resolved[node.index] = array
        checked = sorted(resolved, reverse=True)
        for index in checked:
            node, mine = self.nodes[index - 1], resolved[index]
            engine = node.grad.astype(np.float64)
            bad = ~(np.abs(mine - engine) <= atol + rtol * np.abs(engine))
            if bad.any():
                return self._divergence(node, mine, engine, bad, checked, rtol, atol)
        names = ", ".join(f"u({i})" for i in checked) or "nothing"
        return Comparison(True, checked, message=f"all {len(checked)} gradients agree ({names})")

    def _divergence(self, node, mine, engine, bad, checked, rtol, atol) -> Comparison:
        gap = np.where(bad, np.abs(mine - engine), -1.0)
        worst = np.unravel_index(int(np.argmax(gap)), gap.shape) if gap.ndim else ()
        where = f" at index {tuple(int(i) for i in worst)}" if gap.ndim else ""
        agreed = [i for i in checked if i > node.index]
        consumers = ", ".join(f"u({j}) {self.nodes[j - 1].name!r} ({self.nodes[j - 1].op})"
                              for j in node.consumers) or "none (it is the output)"
        message = (
            f"first divergence in backward order: {node.describe()}: {int(bad.sum())} of "
            f"{bad.size} values differ (rtol={rtol}, atol={atol}); worst{where}: yours "
            f"{mine[worst]:.6g}, engine g({node.index}) = {engine[worst]:.6g}. "
        )
        if agreed:
            message += f"Your gradients of {', '.join(f'u({i})' for i in agreed)} agree, so "
        else:
            message += "So "
        message += (
            f"check how g({node.index}) follows from the gradients of its consumers: "
            f"{consumers} (g({node.index}) = sum over them of g(j) du(j)/du({node.index}))."
        )
        return Comparison(False, checked, node, mine, engine, message)

    # ----------------------------------------------------------------- rendering
    def table(self) -> str:
        """The nodes as a text table: i, name, op, inputs, shape, value and g(i)."""
        rows = [("i", "name", "op", "inputs", "shape", "value", "g(i)")]
        for node in self.nodes:
            rows.append((
                str(node.index), node.name, node.op,
                ",".join(map(str, node.inputs)) or "-",
                "x".join(map(str, node.shape)) or "scalar",
                summarize(node.value), summarize(node.grad),
            ))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Trace of {len(self.nodes)} nodes; print() it for the table>"

    def to_dot(self) -> str:
        """Graphviz source (render with ``dot -Tsvg``), one box per node, edges input -> consumer."""
        lines = ["digraph backprop {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
        for node in self.nodes:
            label = "\\n".join(_escape_dot(text) for text in _labels(node))
            style = ', style=filled, fillcolor="#eef4ff"' if node.op == "leaf" else ""
            lines.append(f'  u{node.index} [label="{label}"{style}];')
        for node in self.nodes:
            for i in node.inputs:
                lines.append(f"  u{i} -> u{node.index};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_svg(self) -> str:
        """The graph as a standalone SVG: columns by depth (the inputs left, the output right),
        each box showing u(i), the name, the op and shape, the value and g(i)."""
        depth: dict[int, int] = {}
        for node in self.nodes:
            depth[node.index] = 1 + max((depth[i] for i in node.inputs), default=-1)
        for node in self.nodes:  # an input sits just left of its first consumer
            if not node.inputs and node.consumers:
                depth[node.index] = min(depth[j] for j in node.consumers) - 1
        columns: dict[int, list[TraceNode]] = {}
        for node in self.nodes:
            columns.setdefault(depth[node.index], []).append(node)
        box_w, box_h, gap_x, gap_y, pad = 230, 74, 60, 22, 20
        position = {}
        for column, members in columns.items():
            for row, node in enumerate(members):
                position[node.index] = (pad + column * (box_w + gap_x), pad + row * (box_h + gap_y))
        width = pad * 2 + len(columns) * (box_w + gap_x) - gap_x
        height = pad * 2 + max(len(m) for m in columns.values()) * (box_h + gap_y) - gap_y
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        ]
        for node in self.nodes:
            x2, y2 = position[node.index]
            for i in node.inputs:
                x1, y1 = position[i]
                out.append(
                    f'<path d="M{x1 + box_w},{y1 + box_h / 2} C{x1 + box_w + gap_x / 2},{y1 + box_h / 2} '
                    f'{x2 - gap_x / 2},{y2 + box_h / 2} {x2},{y2 + box_h / 2}" fill="none" '
                    'stroke="#555" marker-end="url(#arrow)"/>'
                )
        fills = {"leaf": "#eef4ff", "constant": "#f4f4f4"}
        for node in self.nodes:
            x, y = position[node.index]
            out.append(
                f'<g><title>{html.escape(node.describe())}</title><rect x="{x}" y="{y}" '
                f'width="{box_w}" height="{box_h}" rx="6" fill="{fills.get(node.op, "#fff")}" '
                'stroke="#333"/>'
            )
            for k, text in enumerate(_labels(node)):
                weight = ' font-weight="bold"' if k == 0 else ""
                out.append(f'<text x="{x + 8}" y="{y + 16 + 17 * k}"{weight}>{html.escape(_clip(text))}</text>')
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def to_html(self, title: str = "Backpropagation trace") -> str:
        """A self-contained HTML page: the graph (SVG) and the table of nodes."""
        head = ("i", "name", "op", "inputs", "shape", "value", "g(i)")
        rows = "\n".join(
            "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in (
                node.index, node.name, node.op, ", ".join(map(str, node.inputs)) or "-",
                node.shape, summarize(node.value), summarize(node.grad),
            )) + "</tr>"
            for node in self.nodes
        )
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse;"
            "font-family:monospace;font-size:12px} td,th{border:1px solid #ccc;padding:2px 6px;"
            "text-align:left} .graph{overflow:auto}</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p>Nodes u(i) in topological order; g(i) is "
            "d(output)/d u(i), computed in reverse order from g(n) = 1.</p>\n"
            f"<div class=\"graph\">{self.to_svg()}</div>\n<table><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + f"</tr>\n{rows}\n</table>\n</body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the trace as HTML (``.html``/``.htm``), SVG (``.svg``), Graphviz (``.dot``)
        or a text table (``.txt``), chosen by the suffix, atomically."""
        suffix = Path(path).suffix.lower()
        render = {".html": self.to_html, ".htm": self.to_html, ".svg": self.to_svg,
                  ".dot": self.to_dot, ".txt": lambda: self.table() + "\n"}.get(suffix)
        if render is None:
            raise ValueError(f"cannot tell the format of {str(path)!r}: use a .html, .svg, .dot or .txt file name")
        return atomic_write(path, render())


def _labels(node: TraceNode) -> list[str]:
    shape = "x".join(map(str, node.shape)) or "scalar"
    return [
        f"u({node.index}) {node.name}",
        f"{node.op}  {shape}",
        f"value {_brief(node.value)}",
        f"g({node.index}) {_brief(node.grad)}",
    ]


def _brief(array: np.ndarray | None) -> str:
    """A box-sized summary: up to 3 values, else their range (the table has the mean)."""
    if array is None or np.size(array) <= 3:
        return summarize(array, limit=3)
    a = np.asarray(array)
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if finite.size == 0:
        return "all non-finite"
    text = f"in [{finite.min():.4g}, {finite.max():.4g}]"
    return text + (" + non-finite" if finite.size < a.size else "")


def _clip(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _escape_dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _graph(root: Tensor) -> list[Tensor]:
    """Every tensor the root depends on, each after its inputs: the ops in creation order
    (an op's inputs are always created before it), each leaf just before its first consumer."""
    ops, seen, stack = {}, {id(root)}, [root]
    while stack:
        t = stack.pop()
        if t._ctx is not None:
            ops[id(t)] = t
            for parent in t._ctx.inputs:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    order, placed = [], set()
    for t in sorted(ops.values(), key=lambda t: t._ctx.seq):
        for parent in t._ctx.inputs:
            if parent._ctx is None and id(parent) not in placed:
                placed.add(id(parent))
                order.append(parent)
        order.append(t)
    if root._ctx is None:
        order.append(root)
    return order


def trace(
    output: Tensor,
    names: Mapping[str, Tensor] | None = None,
    module: Any = None,
    grad: Any = None,
) -> Trace:
    """The graph that computed ``output``, node by node, with every node's gradient g(i).

    ``names`` maps names of your choice to tensors of the graph ({"h": h, "W1": W1}), and
    ``module`` (an ``nn.Module``) names its parameters ("fc1.weight"); other nodes are named
    after their op and index ("tanh_7") or "input_i"/"constant_i". ``grad`` is g(n), the
    gradient of the output (default 1, which needs a one-element output). Returns a
    :class:`Trace`; see the module docstring.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"trace() needs the output Tensor of a computation, got {type(output).__name__}")
    if not output.requires_grad:
        raise RuntimeError(
            "trace() of a tensor that does not require grad: nothing was recorded (no input had "
            "requires_grad=True, or it ran under no_grad())"
        )
    tensors = _graph(output)
    released = [t._ctx for t in tensors if t._ctx is not None and t._ctx.released]
    if released:
        raise RuntimeError(
            f"trace() needs the values the ops saved for backward, but backward() has freed "
            f"them ({type(released[0]).__name__}); call trace() before backward(), or call "
            "backward(retain_graph=True)"
        )
    given = _given_names(names, module)
    nodes, index_of = [], {}
    for i, t in enumerate(tensors, start=1):
        index_of[id(t)] = i
        if t._ctx is not None:
            op = type(t._ctx).__name__
            default = f"{op.lower()}_{i}"
            inputs = tuple(index_of[id(p)] for p in t._ctx.inputs)
        else:
            op = "leaf" if t.requires_grad else "constant"
            default = f"{'input' if t.requires_grad else 'constant'}_{i}"
            inputs = ()
        nodes.append(TraceNode(i, given.get(id(t), default), op, t, inputs))
    for node in nodes:
        for i in node.inputs:
            if node.index not in nodes[i - 1].consumers:
                nodes[i - 1].consumers.append(node.index)
    _backpropagate(output, tensors, nodes, index_of, _initial_grad(output, grad))
    return Trace(nodes)


def _given_names(names: Mapping[str, Tensor] | None, module: Any) -> dict[int, str]:
    given: dict[int, str] = {}
    if module is not None:
        if not hasattr(module, "named_parameters"):
            raise TypeError(f"trace(module=...) needs an nn.Module, got {type(module).__name__}")
        for name, param in module.named_parameters():
            given[id(param)] = name
    yours: dict[int, str] = {}
    for name, t in (names or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"trace(names=...) maps names to tensors; {name!r} maps to {type(t).__name__}")
        if id(t) in yours:
            raise ValueError(f"trace(names=...) gives one tensor two names, {yours[id(t)]!r} and {name!r}")
        yours[id(t)] = str(name)
    given.update(yours)  # your names override the module's parameter names
    if len(set(given.values())) != len(given):
        raise ValueError("trace(): two tensors were given the same name (a name in names= is "
                         "also the module's name of another parameter)")
    return given


def _initial_grad(output: Tensor, grad: Any) -> np.ndarray:
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"trace() without grad= needs a single-element output, but it has shape "
                f"{output.shape}; reduce it (e.g. .sum()) or pass grad= of that shape"
            )
        return np.ones(output.data.shape, dtype=output.data.dtype)
    g = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    if g.shape != output.shape:
        raise ValueError(f"trace(grad=...) has shape {g.shape}, the output {output.shape}")
    return g.astype(output.data.dtype)


def _backpropagate(output, tensors, nodes, index_of, g_out) -> None:
    """The lecture's loop: g(n) = g_out, then for i = n-1 .. 1, g(i) = sum over successors j
    of g(j) du(j)/du(i), each term an op's vector-Jacobian product."""
    grads: dict[int, np.ndarray] = {index_of[id(output)]: g_out}
    # Ops such as Linear write a leaf's gradient straight into an optimizer's buffer when
    # one is registered; the trace must leave the leaves alone, so the buffers are hidden.
    hidden = [(t, t._grad_buffer) for t in tensors if t._ctx is None and getattr(t, "_grad_buffer", None) is not None]
    try:
        for t, _ in hidden:
            t._grad_buffer = None
        for t in reversed(tensors):
            i = index_of[id(t)]
            if not t.requires_grad:
                continue
            g = grads.get(i)
            if g is None:  # an op returned no gradient for it: it does not affect the output
                g = np.zeros(t.data.shape, dtype=t.data.dtype)
            nodes[i - 1].grad = np.array(g)  # a copy: op gradients may be shared views
            if t._ctx is None:
                continue
            for parent, pg in zip(t._ctx.inputs, t._ctx.backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.shape != parent.data.shape:
                    pg = unbroadcast(pg, parent.data.shape)
                j = index_of[id(parent)]
                grads[j] = pg if j not in grads else grads[j] + pg
    finally:
        for t, buffer in hidden:
            t._grad_buffer = buffer
