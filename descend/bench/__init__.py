"""``descend bench``: the command that runs the benchmark harness in ``benchmarks/``.

The harness itself (``benchmarks/bench.py`` and its worker scripts) lives outside the
package because its workers import PyTorch and JAX, which descend never imports; this
package only registers the subcommand and finds the harness in a source checkout.
"""
