"""descend versus PyTorch (and JAX when installed) on the same data, network, initial weights,
data order and hyperparameters, with epochs of the frameworks alternated in one invocation.

    python benchmarks/bench.py                      # everything (a few minutes)
    python benchmarks/bench.py --workloads W1,W2 --epochs 7
    python benchmarks/bench.py --quick              # a smoke test: a few steps of each

Each framework runs in its own worker process (so its peak RSS is its own and imports do not
mix); the orchestrator asks the workers for one epoch at a time, in rotating order, and
reports median epoch times, the ratio descend / PyTorch, the ratio to the matmul floor (the
matrix products and the minibatch gather alone, timed in the same run), peak RSS and the
final dev accuracy. E2E times whole processes: ``descend train --epochs 1`` against an
equivalent PyTorch script. Results also go to a JSON file (--json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# statistics, subprocess and platform are imported where used: `descend` builds the parser of
# every registered command, `descend bench`'s included, on every invocation.

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import WORKLOADS, BenchError, find_mnist, resolve_workload  # noqa: E402

WORKERS = {
    "descend": ("worker_descend.py", None),
    "descend-numpy": ("worker_descend.py", "numpy-kernels"),
    "descend-ftz": ("worker_descend.py", "flush-denormal"),
    "torch": ("worker_torch.py", None),
    "torch-fused": ("worker_torch.py", "fused"),
    "jax": ("worker_jax.py", None),
    "jax-step": ("worker_jax.py", "step"),
    "numpy": ("worker_numpy.py", None),
    "floor": ("worker_floor.py", None),
}
NEEDS = {"torch": "torch", "torch-fused": "torch", "jax": "jax", "jax-step": "jax"}
CHILDREN: list = []  # every worker and timed process started, stopped on exit or Ctrl-C


def stop_children() -> None:
    """Kill the worker processes that are still running (after Ctrl-C or an error)."""
    while CHILDREN:
        proc = CHILDREN.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Worker:
    def __init__(self, name: str, spec: dict, python: str) -> None:
        import subprocess

        script, variant = WORKERS[name]
        spec = dict(spec, variant=variant)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if variant == "numpy-kernels":  # descend's NumPy reference path instead of the C kernels
            env["DESCEND_KERNELS"] = "numpy"
        self.name = name
        # A session of its own: Ctrl-C reaches only the orchestrator, which stops the workers
        # (no traceback from each of them); see stop_children().
        self.proc = subprocess.Popen(
            [python, str(HERE / script), json.dumps(spec)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT), start_new_session=True)
        CHILDREN.append(self.proc)
        self.info = self._read()
        if "error" in self.info:
            raise RuntimeError(self.info["error"])

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the {self.name} worker exited (code {code}) without answering")
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def finish(self) -> dict:
        result = self.ask("finish")
        self.proc.stdin.close()
        self.proc.wait()
        return result


def available(name: str) -> bool:
    import importlib.util

    module = NEEDS.get(name)
    return module is None or importlib.util.find_spec(module) is not None


def median(xs):
    import statistics

    return statistics.median(xs) if xs else None


def run_workload(key: str, args, frameworks: list[str]) -> dict:
    w = resolve_workload(key)
    if w.get("opt") is None:  # inference: no optimizer, so the fused variant is the same
        frameworks = [f for f in frameworks if f != "torch-fused"]
    spec = dict(workload=w, seed=args.seed, data_dir=str(find_mnist(args.data_dir)),
                threads=args.threads or None,
                max_steps=args.max_steps)
    workers = []
    for name in frameworks:
        try:
            workers.append(Worker(name, spec, args.python))
        except Exception as error:  # noqa: BLE001 (a broken framework must not stop the others)
            print(f"  {key}: {name} failed to start: {error}", file=sys.stderr)
    times = {wk.name: [] for wk in workers}
    cpus = {wk.name: [] for wk in workers}
    total = args.warmup + args.epochs
    for epoch in range(total):
        k = epoch % len(workers)
        for wk in workers[k:] + workers[:k]:  # rotate who goes first
            if wk.proc.poll() is not None:
                continue
            try:
                answer = wk.ask("epoch")
            except Exception as error:  # noqa: BLE001
                print(f"  {key}: {wk.name} failed: {error}", file=sys.stderr)
                continue
            if epoch >= args.warmup:
                times[wk.name].append(answer["epoch_s"])
                cpus[wk.name].append(answer["cpu_s"])
    result = dict(what=w["what"], frameworks={})
    for wk in workers:
        if wk.proc.poll() is not None:
            continue
        end = wk.finish()
        ts = times[wk.name]
        result["frameworks"][wk.name] = dict(
            median_s=median(ts), times_s=ts, median_cpu_s=median(cpus[wk.name]),
            cpu_s=cpus[wk.name], dev_acc=end.get("dev_acc"),
            peak_rss_mb=end.get("peak_rss_mb"), info=wk.info,
            params_sha256=end.get("params_sha256"))
    fw = result["frameworks"]
    if "descend" in fw and "descend-numpy" in fw:
        # Same data, weights and number of epochs: the compiled and the NumPy kernels must
        # have produced the very same parameters.
        result["c_numpy_bit_identical"] = (
            fw["descend"]["params_sha256"] == fw["descend-numpy"]["params_sha256"])

    def ratio(a, b, key="median_s"):
        if a in fw and b in fw and fw[a][key] and fw[b][key]:
            return fw[a][key] / fw[b][key]
        return None

    result["ratios"] = {
        "descend/torch": ratio("descend", "torch"),
        "descend/torch-fused": ratio("descend", "torch-fused"),
        "descend/floor": ratio("descend", "floor"),
        "descend/jax": ratio("descend", "jax"),
        "descend-numpy/floor": ratio("descend-numpy", "floor"),
        "descend-ftz/floor": ratio("descend-ftz", "floor"),
        "descend/jax-step": ratio("descend", "jax-step"),
        "jax/floor": ratio("jax", "floor"),
        "jax-step/floor": ratio("jax-step", "floor"),
        "descend/numpy": ratio("descend", "numpy"),
        "numpy/floor": ratio("numpy", "floor"),
        "torch/floor": ratio("torch", "floor"),
        "cpu descend/torch": ratio("descend", "torch", "median_cpu_s"),
        "cpu descend/floor": ratio("descend", "floor", "median_cpu_s"),
        "rss descend/torch": (fw["descend"]["peak_rss_mb"] / fw["torch"]["peak_rss_mb"]
                              if "descend" in fw and "torch" in fw else None),
    }
    if w.get("inference"):
        images = 10000 * w.get("passes", 1)
        for name, r in fw.items():
            if r["median_s"]:
                r["images_per_s"] = images / r["median_s"]
    return result


def descend_kernels(python: str) -> str:
    """descend.kernels.describe() of the interpreter the workers run (which path they use)."""
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([python, "-c", "import descend.kernels as k; print(k.describe())"],
                         capture_output=True, text=True, env=env, cwd=str(ROOT))
    return "descend " + (out.stdout.strip() or f"kernels: unknown ({out.stderr.strip()[-200:]})")


def time_process(cmd: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """Wall time (s) and peak RSS (MB) of one whole child process, and its exit code."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=str(ROOT), start_new_session=True)
    CHILDREN.append(proc)
    _, status, usage = os.wait4(proc.pid, 0)
    CHILDREN.remove(proc)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        err = proc.stderr.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} failed with code {proc.returncode}:\n{err}")
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0, proc.returncode


def run_imports(args) -> dict:
    import subprocess

    code = ("import time; t = time.perf_counter(); import {m}; "
            "print(time.perf_counter() - t)")
    mods = ["numpy", "descend"] + (["torch"] if available("torch") else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # An installed package has its bytecode compiled (pip does it); a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every import. Compile first.
    import compileall

    compileall.compile_dir(str(ROOT / "descend"), quiet=1)
    times = {m: [] for m in mods}
    for _ in range(args.import_repeats):
        for m in mods:
            out = subprocess.run([args.python, "-c", code.format(m=m)], capture_output=True,
                                 text=True, env=env, cwd=str(ROOT), check=True)
            times[m].append(float(out.stdout.strip()))
    # What `import descend` drags in: heavy optional packages must not be among them.
    probe = ("import sys, descend; heavy = ['matplotlib', 'tqdm', 'tensorboardX', 'safetensors',"
             " 'torch', 'scipy', 'pandas']; print([m for m in heavy if m in sys.modules])")
    loaded = subprocess.run([args.python, "-c", probe], capture_output=True, text=True, env=env,
                            cwd=str(ROOT), check=True).stdout.strip()
    return dict(median_s={m: median(t) for m, t in times.items()}, times_s=times,
                heavy_modules_loaded=loaded)


def run_e2e(args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    data_dir = str(find_mnist(args.data_dir))
    import tempfile

    logroot = tempfile.mkdtemp(prefix="descend-bench-")
    threads = str(args.threads or 0)
    descend_cmd = [args.python, "-m", "descend", "train", "--epochs", "1", "--data_dir",
                   data_dir, "--threads", threads] + args.e2e_args
    torch_cmd = [args.python, str(HERE / "e2e_torch.py"), "--epochs", "1", "--data_dir",
                 data_dir, "--threads", threads]
    # "descend" is the command as a user types it (it also writes TensorBoard events and draws
    # PNG plots at the end); "descend-lean" skips those two, like the PyTorch script does.
    cmds = {"descend": descend_cmd, "descend-lean": descend_cmd + ["--no_plots", "--no_tensorboard"]}
    if available("torch"):
        cmds["torch"] = torch_cmd
    runs = {k: [] for k in cmds}
    rss = {k: [] for k in cmds}
    for i in range(args.e2e_repeats):
        order = list(cmds) if i % 2 == 0 else list(cmds)[::-1]
        for k in order:
            cmd = cmds[k] + (["--logdir", os.path.join(logroot, f"{k}{i}")] if k != "torch" else [])
            wall, peak, _ = time_process(cmd, env)
            runs[k].append(wall)
            rss[k].append(peak)
    import shutil

    shutil.rmtree(logroot, ignore_errors=True)
    out = dict(commands={k: " ".join(v) for k, v in cmds.items()},
               median_s={k: median(v) for k, v in runs.items()}, times_s=runs,
               peak_rss_mb={k: max(v) for k, v in rss.items()})
    if "torch" in runs:
        out["descend/torch"] = out["median_s"]["descend"] / out["median_s"]["torch"]
        out["descend-lean/torch"] = out["median_s"]["descend-lean"] / out["median_s"]["torch"]
    return out


def fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


COLUMNS = [("descend", "descend"), ("descend-numpy", "descend NumPy kernels"),
           ("descend-ftz", "descend flush-denormal"),
           ("torch", "PyTorch"), ("torch-fused", "PyTorch fused"), ("jax", "JAX scan"),
           ("jax-step", "JAX per-step"), ("numpy", "hand NumPy"), ("floor", "matmul floor")]


def spread(fw: dict, a: str, b: str) -> str:
    """Median [min-max] over the timed epochs of the epoch-by-epoch ratio a / b (epochs of
    a and b with the same index ran one right after the other)."""
    if a not in fw or b not in fw:
        return "-"
    pairs = [x / y for x, y in zip(fw[a]["times_s"], fw[b]["times_s"]) if y]
    if not pairs:
        return "-"
    return f"{median(pairs):.2f} [{min(pairs):.2f}-{max(pairs):.2f}]"


# OpenBLAS kernel families that use AVX-512 (the others, e.g. Haswell and Zen, stop at AVX2)
AVX512_BLAS_CORES = ("skylakex", "cooperlake", "sapphirerapids")


def cpu_has_avx512() -> bool:
    """Whether this CPU has AVX-512 (Linux's /proc/cpuinfo; False where it cannot tell)."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def blas_note(results: dict) -> str | None:
    """A note when NumPy's OpenBLAS runs AVX2 kernels on an AVX-512 CPU: then the floor and
    every NumPy-based column (descend's included) use slower products than XLA compiles."""
    blas = None
    for r in results["workloads"].values():
        for name in ("floor", "descend", "numpy"):
            blas = blas or ((r["frameworks"].get(name) or {}).get("info") or {}).get("blas")
    if not blas or not blas.startswith("openblas") or not results["machine"].get("avx512"):
        return None
    core = blas.split()[2] if len(blas.split()) > 2 else "?"
    if core.lower() in AVX512_BLAS_CORES:
        return None
    pinned = results["machine"].get("openblas_env", {}).get("OPENBLAS_CORETYPE")
    why = f" (OPENBLAS_CORETYPE={pinned} in the environment)" if pinned else ""
    return (f"note: NumPy's OpenBLAS runs its {core} kernels{why}, which do not use AVX-512, "
            "on this AVX-512 CPU: the floor and every NumPy-based column use them, while JAX's "
            "XLA compiles for AVX-512; OPENBLAS_CORETYPE=SkylakeX selects OpenBLAS's AVX-512 "
            "kernels (docs/performance.md, \"Fourth round: NumPy's BLAS kernels\")")


def report(results: dict) -> str:
    lines = [results.get("kernels", "")]
    note = blas_note(results)
    if note:
        lines.append(note)
    lines.append("")
    present = [(k, name) for k, name in COLUMNS
               if any(k in r["frameworks"] for r in results["workloads"].values())]
    head = ("| workload | " + " | ".join(f"{name} s" for _, name in present)
            + " | descend/floor | descend/hand NumPy | JAX scan/floor | descend/PyTorch "
            "| C = NumPy kernels (params) | dev acc descend / PyTorch | peak RSS MB descend / PyTorch |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    blank = " |" * (head.count("|") - 2)
    for key, r in results["workloads"].items():
        fw = r["frameworks"]

        def get(name, field):
            return fw[name][field] if name in fw else None

        same = r.get("c_numpy_bit_identical")
        lines.append(
            f"| {key} | " + " | ".join(fmt(get(k, "median_s")) for k, _ in present)
            + f" | {spread(fw, 'descend', 'floor')} | {spread(fw, 'descend', 'numpy')} | "
            f"{spread(fw, 'jax', 'floor')} | {spread(fw, 'descend', 'torch')} | "
            f"{'-' if same is None else ('identical' if same else 'DIFFERENT')} | "
            f"{fmt(get('descend', 'dev_acc'), '.4f')} / {fmt(get('torch', 'dev_acc'), '.4f')} | "
            f"{fmt(get('descend', 'peak_rss_mb'), '.0f')} / {fmt(get('torch', 'peak_rss_mb'), '.0f')} |")
        cpu = ", ".join(f"{n} {fmt(fw[n]['median_cpu_s'])}" for n in fw)
        lines.append(f"|  | CPU s: {cpu}; CPU ratio descend/floor "
                     f"{fmt(r['ratios']['cpu descend/floor'], '.2f')}" + blank)
        if "images_per_s" in fw.get("descend", {}):
            tp = ", ".join(f"{n} {fw[n]['images_per_s']:,.0f}" for n in fw if "images_per_s" in fw[n])
            lines.append(f"|  | images/s: {tp}" + blank)
    imp = results.get("imports")
    if imp:
        lines.append("")
        lines.append("import time (median s): " + ", ".join(
            f"{m} {fmt(t)}" for m, t in imp["median_s"].items())
            + f"; heavy modules loaded by `import descend`: {imp['heavy_modules_loaded']}")
    e2e = results.get("e2e")
    if e2e:
        lines.append("")
        lines.append("E2E whole process (median s): " + ", ".join(
            f"{k} {fmt(v)}" for k, v in e2e["median_s"].items())
            + (f"; descend/PyTorch {e2e['descend/torch']:.2f}, descend-lean/PyTorch "
               f"{e2e['descend-lean/torch']:.2f}" if "descend/torch" in e2e else "")
            + "; peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in e2e["peak_rss_mb"].items()))
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The harness's options (also those of ``descend bench``)."""
    p.add_argument("--data_dir", default=None,
                   help="directory with MNIST's IDX files (default: $DESCEND_DATA, then the user cache "
                   "~/.cache/descend/datasets, then the copy that ships with descend)")
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                   help="comma-separated subset of W1..W5, E2E and IMPORT (default: all), or "
                   "sweep variants BASE@mods: bN batch, wN hidden width, dN hidden layers, "
                   "e.g. W1@b8,W1@w32 (with ',' inside a variant, separate workloads by ';')")
    p.add_argument("--frameworks", default="descend,descend-numpy,torch,torch-fused,jax,jax-step,numpy,floor",
                   help="comma-separated; those not installed are skipped (descend-numpy: "
                   "descend with DESCEND_KERNELS=numpy, whose final parameters must equal "
                   "descend's; descend-ftz: descend with descend.kernels.set_flush_denormal(True), not run "
                   "unless named; jax: jit + lax.scan over the epoch; jax-step: a jitted step per batch)")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per framework")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first (JAX compiles)")
    p.add_argument("--max_steps", type=int, default=None, help="cut every epoch to this many steps")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS / intra-op threads for every framework (default 1: on a small, "
                   "shared machine a second BLAS thread mostly waits; 0: each framework's default)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights and of the data order, the same for every framework")
    p.add_argument("--e2e_repeats", type=int, default=3)
    p.add_argument("--e2e_args", default="", help="extra arguments for `descend train` in E2E")
    p.add_argument("--import_repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 20 steps per epoch, 1 epoch, no warm-up, no E2E")
    p.add_argument("--json", default=None, help="where to write the results (default: "
                   "benchmarks/results/bench-<time>.json; '-' for none)")
    p.add_argument("--python", default=sys.executable, help=argparse.SUPPRESS)


DEFAULT_WORKLOADS = "W1,W2,W3,W4,W5,E2E"


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    args.e2e_args = args.e2e_args.split() if isinstance(args.e2e_args, str) else args.e2e_args
    if args.quick:
        args.max_steps = args.max_steps or 20
        args.epochs, args.warmup, args.e2e_repeats, args.import_repeats = 1, 0, 1, 1
        if args.workloads == DEFAULT_WORKLOADS:
            args.workloads = "W1,W2,W3,W4,W5,IMPORT"
    return args


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="benchmarks/bench.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return finish_args(p.parse_args(argv))


def main(argv=None) -> int:
    try:
        return run(parse_args(argv))
    except BenchError as error:
        print(f"benchmarks/bench.py: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benchmarks/bench.py: interrupted", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed options (``descend bench`` calls this).

    Bad options and missing data raise ``BenchError`` (one line); Ctrl-C stops every worker
    and raises KeyboardInterrupt to the caller, which reports it in one line."""
    try:
        return _run(args)
    finally:
        stop_children()


def _run(args: argparse.Namespace) -> int:
    import platform

    args = finish_args(args)
    keys = [k.strip().upper() for k in args.workloads.split(";" if ";" in args.workloads else ",")
            if k.strip()]
    unknown = [k for k in keys if resolve_workload(k) is None and k not in ("E2E", "IMPORT")]
    if unknown or not keys:
        raise BenchError(f"--workloads: unknown workload(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(WORKLOADS)}, E2E, IMPORT, or a sweep variant "
                         "such as W1@b8 or W1@w2048,d2 (separate such lists with ';')")
    wanted = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    bad = [f for f in wanted if f not in WORKERS]
    if bad or not wanted:
        raise BenchError(f"--frameworks: unknown framework(s) {', '.join(bad) or '(none given)'}; "
                         f"choose from {', '.join(WORKERS)}")
    frameworks = [f for f in wanted if available(f)]
    skipped = [f for f in wanted if f not in frameworks]
    find_mnist(args.data_dir)  # fail early with the message that says where it looked
    results = dict(
        machine=dict(python=platform.python_version(), platform=platform.platform(),
                     cpus=os.cpu_count(), threads=args.threads,
                     openblas_env={k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
                     avx512=cpu_has_avx512()),
        settings=dict(epochs=args.epochs, warmup=args.warmup, max_steps=args.max_steps,
                      seed=args.seed, frameworks=frameworks, skipped=skipped),
        workloads={})
    results["kernels"] = descend_kernels(args.python)
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}", file=sys.stderr)
    for key in keys:
        print(f"running {key} ...", file=sys.stderr, flush=True)
        if resolve_workload(key) is not None:
            results["workloads"][key] = run_workload(key, args, frameworks)
        elif key == "IMPORT":
            results["imports"] = run_imports(args)
        elif key == "E2E":
            results["imports"] = results.get("imports") or run_imports(args)
            results["e2e"] = run_e2e(args)
    text = report(results)
    print(text)
    results["table"] = text
    if args.json != "-":
        path = Path(args.json) if args.json else (
            HERE / "results" / time.strftime("bench-%Y%m%d-%H%M%S.json"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"results written to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
