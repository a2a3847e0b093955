"""``stdpose-eval``: PoseTrack mAP of prediction files against ground truth, as poseval computes it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import run_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stdpose-eval", description=__doc__)
    parser.add_argument("--gt", required=True, help="folder of ground-truth PoseTrack18/21 JSON files, one per video")
    parser.add_argument("--pred", required=True, help="folder of prediction files with the same names")
    parser.add_argument("--json", help="write per-joint and per-group APs and Total here")
    return run_command("stdpose-eval", _evaluate, parser.parse_args(argv))


def _evaluate(args: argparse.Namespace) -> None:
    from ..evaluation import evaluate, write_json

    result = evaluate(args.gt, args.pred)
    print(result.table())
    if args.json:
        write_json(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
