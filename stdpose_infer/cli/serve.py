"""``stdpose-infer serve``: the model behind Triton Inference Server (PyTriton), loopback unless told otherwise."""

from __future__ import annotations

import argparse


def add_command(sub) -> None:
    from ..runtime.loader import BACKENDS, PRECISIONS

    p = sub.add_parser("serve", help="serve the model through Triton Inference Server (needs the serve extra)")
    p.add_argument("--weights", help="STDPose .safetensors checkpoint (default: the shipped starter model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback; 0.0.0.0 exposes "
                   "the server to the network: put it behind your own access control)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000, help="HTTP port (clients: triton://HOST:PORT/stdpose)")
    p.add_argument("--grpc-port", type=int, default=8001)
    p.add_argument("--backend", default="auto", choices=[b for b in BACKENDS if b != "triton"])
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=PRECISIONS)
    p.add_argument("--max-batch", type=int, default=32, help="largest batch the dynamic batcher forms")
    p.add_argument("--max-queue-delay-us", type=int, default=2000, help="how long a request may wait for others")
    p.add_argument("--preferred-batch", type=int, nargs="*", default=[8, 16, 32], help="batch sizes to aim for")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> None:
    from ..defaults import default_weights
    from ..runtime.loader import load_backend
    from ..serve import ServeOptions, serve_forever
    from ..weights import load_model

    model = load_model(args.weights or default_weights())
    backend = load_backend(model, args.backend, args.device, args.precision, max_batch=args.max_batch)
    print(f"model: {model.provenance.get('source', 'unknown')}\nbackend: {backend.info}")
    options = ServeOptions(host=args.host, http_port=args.port, grpc_port=args.grpc_port, max_batch=args.max_batch,
                           max_queue_delay_us=args.max_queue_delay_us,
                           preferred_batch_sizes=tuple(args.preferred_batch))  # fmt: skip
    serve_forever(backend, options)
