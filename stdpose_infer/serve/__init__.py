"""Serving: the model behind Triton Inference Server (``stdpose-infer serve``); clients use ``triton://``."""

from .triton_server import ServeOptions, bind_models, serve_forever, start

__all__ = ["ServeOptions", "bind_models", "serve_forever", "start"]
