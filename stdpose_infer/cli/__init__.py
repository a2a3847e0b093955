"""Command-line entry points."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import StdposeError


def run_command(prog: str, command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run one command; errors the package raises on purpose print as one line (exit 2), not a traceback."""
    try:
        command(args)
    except StdposeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    return 0
