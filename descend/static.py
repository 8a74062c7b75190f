"""A recorded-and-replayed training step: the same numbers as the eager step, less Python.

``compile_step(fn, params)`` returns a callable ``step(*arrays)`` that computes
``fn(*arrays)`` (a scalar loss tensor) and its gradients with respect to ``params`` exactly as
``fn(*arrays).backward()`` would, accumulating into each parameter's ``.grad`` by the engine's
rules (in place into an existing array, into the optimizer's flat buffer when ``grad`` is None).

The first call for a given input signature (shapes and dtypes of the arrays, grad mode) runs
``fn`` eagerly while recording every op ``Function.apply`` creates: a *tape* of the op objects
with, for each input, where it comes from (one of the call's arrays, a parameter, the output
of an earlier op). Later calls with the same signature replay the tape: each op's ``forward``
on the new arrays, then each op's ``backward`` in reverse order. Replaying skips everything
around the ops (module calls, argument checking, Tensor and Function creation, the engine's
bookkeeping); the ops themselves, and so the arithmetic, are the same objects and the same
calls, so the results are bit-identical to the eager path (``tests/test_fast_paths.py``).

What can be recorded (otherwise ``step`` simply runs ``fn`` eagerly every time, which is
always correct): ``fn`` must be a pure function of its array arguments and the parameters
that runs the same ops for every call with the same shapes (no Python control flow on
values), and every op input must be one of the call's arrays (the same object, e.g. passed
to a layer as is), a parameter or another op's output; keyword arguments of ops must be
plain constants (numbers, strings, None, dtypes, tuples of them) or one of the call's arrays
(e.g. the labels given to ``cross_entropy``). A tensor created inside ``fn`` from anything
else, a random generator passed to an op (dropout) or an array argument converted to another
dtype makes the step fall back to eager execution. Ops may define ``replay_check(**kwargs)``
to re-validate array arguments on replay (``cross_entropy`` checks the label range).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

import numpy as np

from .autograd import _GradMode, _accumulate_leaf, unbroadcast
from .tensor import Tensor

# The module itself (``descend.tensor`` the attribute is the function ``tensor()``).
_tensor_module = sys.modules[Tensor.__module__]

__all__ = ["compile_step", "StaticStep"]

_CONSTANT_TYPES = (type(None), bool, int, float, str, np.dtype, np.generic)


class _Unrecordable(Exception):
    """The function does something the tape cannot replay; run it eagerly."""


def _is_constant(value: Any) -> bool:
    if isinstance(value, _CONSTANT_TYPES):
        return True
    if isinstance(value, (tuple, list)):
        return all(_is_constant(v) for v in value)
    return isinstance(value, type) and issubclass(value, np.generic)


class _Tape:
    """The ops of one recorded call, in creation order, with their input sources."""

    __slots__ = ("ops", "loss_index", "result_indices", "params")

    def __init__(self, records: list, args: Sequence[np.ndarray], params: list[Tensor], results: Sequence[Tensor]) -> None:
        arg_ids = {id(a): i for i, a in enumerate(args)}
        param_ids = {id(p) for p in params}
        out_index: dict[int, int] = {}
        ops = []
        for k, (fn, kwargs, out) in enumerate(records):
            sources = []
            for t in fn.inputs:
                if id(t) in out_index:
                    sources.append((0, out_index[id(t)]))
                elif id(t) in param_ids or (t._ctx is None and t.requires_grad):
                    if id(t) not in param_ids:
                        raise _Unrecordable("an op uses a leaf that requires grad but is not a parameter")
                    sources.append((1, t))
                elif t._ctx is None and id(t.data) in arg_ids:
                    sources.append((2, arg_ids[id(t.data)]))
                else:
                    raise _Unrecordable(f"an input of {type(fn).__name__} is neither an argument, "
                                        "a parameter nor an op output")
            fixed, from_args = {}, {}
            for name, value in kwargs.items():
                if isinstance(value, np.ndarray) and id(value) in arg_ids:
                    from_args[name] = arg_ids[id(value)]
                elif _is_constant(value):
                    fixed[name] = value
                else:
                    raise _Unrecordable(f"{type(fn).__name__} got a keyword argument {name!r} "
                                        f"of type {type(value).__name__}")
            ops.append((fn, tuple(sources), fixed, from_args, getattr(fn, "replay_check", None)))
            out_index[id(out)] = k
        if any(id(r) not in out_index for r in results):
            raise _Unrecordable("the loss (or another result) is not the output of a recorded op")
        self.ops = ops
        self.result_indices = [out_index[id(r)] for r in results]
        self.loss_index = self.result_indices[0]
        self.params = params

    def run(self, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        outs: list[Any] = [None] * len(self.ops)
        for k, (fn, sources, fixed, from_args, check) in enumerate(self.ops):
            arrays = [outs[i] if kind == 0 else (i.data if kind == 1 else args[i]) for kind, i in sources]
            kwargs = fixed
            if from_args:
                kwargs = dict(fixed)
                for name, i in from_args.items():
                    kwargs[name] = args[i]
                if check is not None:
                    check(*arrays, **kwargs)
            outs[k] = fn.forward(*arrays, **kwargs)
        loss = outs[self.loss_index]
        # backward: the tape is in creation order, so its reverse is a reverse topological order
        grads: list[Any] = [None] * len(self.ops)
        grads[self.loss_index] = np.ones(loss.shape, dtype=loss.dtype)
        for k in range(self.loss_index, -1, -1):
            g = grads[k]
            if g is None:
                continue
            grads[k] = None
            fn, sources = self.ops[k][0], self.ops[k][1]
            for (kind, i), t, pg in zip(sources, fn.inputs, fn.backward(g)):
                if pg is None or kind == 2 or not t.requires_grad:
                    continue
                if kind == 0:
                    shape = outs[i].shape
                    if pg.shape != shape:
                        pg = unbroadcast(pg, shape)
                    previous = grads[i]
                    grads[i] = pg if previous is None else previous + pg
                else:
                    if pg.shape != i.data.shape:
                        pg = unbroadcast(pg, i.data.shape)
                    _accumulate_leaf(i, pg)
        return tuple(outs[i] for i in self.result_indices)


class StaticStep:
    """``step(*arrays)``: the loss ``fn(*arrays)`` and its gradients, recorded once per input
    signature and replayed after (see the module docstring). Returns the loss as an ndarray."""

    def __init__(self, fn: Callable[..., Tensor], params: Sequence[Tensor]) -> None:
        self.fn = fn
        self.params = list(params)
        self.tapes: dict[tuple, _Tape | None] = {}  # None: not recordable, run eagerly
        self.returns_tuple = False

    def __call__(self, *arrays: Any) -> Any:
        args = [a if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays]
        key = (_GradMode.enabled,) + tuple((a.shape, a.dtype.str) for a in args)
        tape = self.tapes.get(key, False)
        if tape is not False and tape is not None:
            results = tape.run(args)
        elif tape is None or not _GradMode.enabled:
            results = self._eager(args)
        else:
            results = self._record(key, args)
        return results if self.returns_tuple else results[0]

    def _results(self, value: Any) -> list[Tensor]:
        self.returns_tuple = isinstance(value, tuple)
        results = list(value) if self.returns_tuple else [value]
        if not results or not all(isinstance(r, Tensor) for r in results):
            raise TypeError("compile_step: fn must return a loss tensor or a tuple of tensors "
                            "whose first is the loss")
        loss = results[0]
        if loss.data.size != 1:
            raise ValueError(f"compile_step: the loss must have one element, got shape {loss.shape}")
        return results

    def _eager(self, args: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        results = self._results(self.fn(*args))
        results[0].backward()
        return tuple(r.data for r in results)

    def _record(self, key: tuple, args: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        records: list = []
        previous = _tensor_module._recorder
        _tensor_module._recorder = records
        try:
            value = self.fn(*args)
        finally:
            _tensor_module._recorder = previous
        results = self._results(value)
        try:
            if not results[0].requires_grad:
                raise _Unrecordable("the loss does not require grad")
            tape = _Tape(records, args, self.params, results)
        except _Unrecordable:
            tape = None
        self.tapes[key] = tape
        # The recording call itself is an ordinary eager step; retain the graph so the op
        # objects keep what they saved, as the replays reuse them.
        results[0].backward(retain_graph=tape is not None)
        return tuple(r.data for r in results)


def compile_step(fn: Callable[..., Tensor], params: Sequence[Tensor]) -> StaticStep:
    """A recorded-and-replayed ``fn(*arrays).backward()`` (see :class:`StaticStep`)."""
    return StaticStep(fn, params)
