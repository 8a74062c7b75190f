"""Fail when a function in the application packages is above cyclomatic complexity 15.

Usage: python tools/check_complexity.py [--max 15] [package directory ...]
(radon's measure; radon's letter ranks are too coarse for the limit of 15, so this checks
the number itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radon.complexity import cc_visit

APPLICATION = ["descend/cli", "descend/run", "descend/train", "descend/tune", "descend/distributed",
               "descend/lab", "descend/bench"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=15)
    parser.add_argument("paths", nargs="*", default=APPLICATION)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    over = []
    for directory in args.paths:
        for path in sorted((root / directory).rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                if block.complexity > args.max:
                    name = f"{block.classname}.{block.name}" if getattr(block, "classname", None) else block.name
                    over.append(f"{path.relative_to(root)}:{block.lineno} {name}: {block.complexity}")
    for line in over:
        print(line)
    if over:
        print(f"{len(over)} function(s) above complexity {args.max}", file=sys.stderr)
        return 1
    print(f"complexity: every function in {', '.join(args.paths)} is at most {args.max}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
