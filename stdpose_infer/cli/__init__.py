"""Command-line entry points."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import Interrupted, StdposeError


def resolution(text: str) -> tuple[int, int]:
    """argparse type for "WxH" sizes such as 1280x720."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution must look like 1280x720, got {text!r}") from None
    return w, h


def run_command(prog: str, command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run one command; errors the package raises on purpose print as one line (exit 2), not a traceback; Ctrl-C
    prints one line (exit 130)."""
    try:
        command(args)
    except StdposeError as e:
        print(f"{prog}: {'stopped' if isinstance(e, Interrupted) else 'error'}: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:  # before anything was done that could be kept
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0
