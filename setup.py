"""Build configuration of descend's optional C extension (everything else is in pyproject.toml).

``descend.kernels._fused`` (descend/kernels/_fused.c) holds the fused optimizer updates and
elementwise kernels. It is optional: when no C compiler is present the build skips it (with a
warning) and descend uses the bit-identical NumPy reference (``descend.kernels.backend()``
says which). ``-ffp-contract=off`` keeps the compiler from fusing a*b+c into one rounding,
which would break bit-identity with NumPy; ``-fno-math-errno`` lets it vectorise sqrt (errno
is never read).
"""

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    FLAGS = ["/O2", "/fp:precise", "/std:c11"]
else:
    FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]

setup(
    ext_modules=[
        Extension(
            "descend.kernels._fused",
            sources=["descend/kernels/_fused.c"],
            extra_compile_args=FLAGS,
            optional=True,
        )
    ]
)
