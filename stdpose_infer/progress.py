"""Progress bars that suit where the output goes: a live bar on a terminal, a few summary lines in a log or a pipe.

tqdm redraws its bar ten times a second; written to a file, every redraw is one more line (a 110-frame run wrote
110). Off a terminal the bar is redrawn at most every ``LOG_INTERVAL_S`` seconds, so a long run logs a handful
of lines and its last one.
"""

from __future__ import annotations

import sys

LOG_INTERVAL_S = 60.0


def progress(iterable=None, file=None, **options):
    """``tqdm(iterable, **options)`` on a terminal; off one, a line at most every ``LOG_INTERVAL_S`` seconds, plain
    ASCII. tqdm is looked up at each call, so a test can stand in for it (``tqdm.tqdm``)."""
    import tqdm

    stream = file if file is not None else sys.stderr
    if not _is_terminal(stream):
        options = {"mininterval": LOG_INTERVAL_S, "maxinterval": LOG_INTERVAL_S, "ascii": True, "ncols": 100,
                   **options}  # fmt: skip
    if file is not None:
        options["file"] = file
    return tqdm.tqdm(iterable, **options) if iterable is not None else tqdm.tqdm(**options)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False
