"""``stdpose-bench``: latency and throughput per stage and backend, with FLOP and baseline ratios."""

from .report import markdown, plot, write_report
from .runner import BACKEND_SPECS, BenchConfig, run_bench
from .timing import PeakMemory, StageTimer, summarize, time_calls

__all__ = ["BACKEND_SPECS", "BenchConfig", "PeakMemory", "StageTimer", "markdown", "plot", "run_bench",
           "summarize", "time_calls", "write_report"]  # fmt: skip
