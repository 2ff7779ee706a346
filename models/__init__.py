"""The model zoo: one file per family, each registered by name.

A model is built from its hyper-parameters and the data's shape; nothing is downloaded.
"""
# Import the families so they register themselves.
from models import cnn, linear, mlp, text, vit  # noqa: F401
from models.base import (
    MODELS,
    ModelInfo,
    ModelSpec,
    all_model_infos,
    build_model,
    model_info,
    register,
)

__all__ = ["MODELS", "ModelInfo", "ModelSpec", "all_model_infos", "build_model", "model_info",
           "register"]
