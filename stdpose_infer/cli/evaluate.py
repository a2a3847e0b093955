"""``stdpose-eval``: PoseTrack mAP of prediction files against ground truth, as poseval computes it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import StdposeError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stdpose-eval", description=__doc__)
    parser.add_argument("--gt", required=True, help="folder of ground-truth PoseTrack18/21 JSON files, one per video")
    parser.add_argument("--pred", required=True, help="folder of prediction files with the same names")
    parser.add_argument("--json", help="write per-joint and per-group APs and Total here")
    args = parser.parse_args(argv)
    from ..evaluation import evaluate, write_json

    try:
        result = evaluate(args.gt, args.pred)
    except StdposeError as e:
        print(f"stdpose-eval: error: {e}", file=sys.stderr)
        return 2
    print(result.table())
    if args.json:
        write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
