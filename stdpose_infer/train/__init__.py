"""Training and fine-tuning (``stdpose-train``): datasets, the MSE + MI objective, the loop, pseudo-labels."""

from .dataset import TripletDataset, load_videos
from .losses import heatmap_mse, mi_terms, training_loss
from .trainer import TrainConfig, make_model, train

__all__ = ["TrainConfig", "TripletDataset", "heatmap_mse", "load_videos", "make_model", "mi_terms", "train",
           "training_loss"]  # fmt: skip
