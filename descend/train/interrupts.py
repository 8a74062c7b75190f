"""Deferring Ctrl-C (SIGINT) and SIGTERM across a short critical section.

The end of an epoch (its dev evaluation, its epoch line, the callbacks, the checkpoint) must
happen entirely or not at all: an interrupt that arrives after the epoch line was printed but
before the checkpoint was written would lose the epoch the user just saw finish. Inside
:func:`deferred_interrupts` a SIGINT or SIGTERM is recorded instead of acted on; when the block
ends, the signal's own handler runs (for SIGINT, Python's: a ``KeyboardInterrupt``), so the
interrupt takes effect right after the checkpoint. A second signal during the block acts at
once: a user who presses Ctrl-C twice is not kept waiting.

Only the main thread can install signal handlers; elsewhere (and on platforms without
SIGTERM) the block runs without deferral. Blocks nest: only the outermost one defers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any, Iterator

__all__ = ["deferred_interrupts"]

_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)
_active = False


def _deliver(signum: int, handler: Any, frame: FrameType | None) -> None:
    """Act on ``signum`` as ``handler`` (the one installed before the block) would."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


@contextlib.contextmanager
def deferred_interrupts(message: str = "finishing the epoch's checkpoint first") -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM deferred to its end (see the module's docstring).

    ``message`` is printed on stderr when a signal is deferred (``"Interrupt: <message>;
    press Ctrl-C again to stop at once."``).
    """
    global _active
    if _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[int, Any] = {}
    pending: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        if signum in pending:  # the second one: act now
            handler = saved.get(signum, signal.SIG_DFL)
            restore()
            _deliver(signum, handler, frame)
            return
        pending.append(signum)
        # os.write, not print: a handler may run in the middle of another write to stderr.
        with contextlib.suppress(OSError):
            os.write(2, f"Interrupt: {message}; press Ctrl-C again to stop at once.\n".encode())

    def restore() -> None:
        for signum, handler in saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)
        saved.clear()

    for signum in _SIGNALS:
        try:
            handler = signal.getsignal(signum)
            if handler == signal.SIG_IGN or handler is None:
                continue
            signal.signal(signum, record)
            saved[signum] = handler
        except (ValueError, OSError):  # not allowed here
            continue
    _active = True
    handlers = dict(saved)
    try:
        yield
    finally:
        _active = False
        restore()
    for signum in pending:  # reached only when the block ended normally
        _deliver(signum, handlers[signum], None)
