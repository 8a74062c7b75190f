"""``descend bench``: the command that runs the benchmark harness in ``benchmarks/``.

The harness itself (``benchmarks/bench.py`` and its worker scripts) lives outside the
package because its workers import PyTorch and JAX, which descend never imports; this
package is the layer that names it; the subcommand itself is registered by
``descend/cli/bench.py``, which finds the harness in a source checkout.
"""
