"""Data sets (audio, images, arrays), the synthetic keyword set, and the audio front end."""

from tinykit.data.datasets import Dataset, load_dataset
from tinykit.data.features import FeatureConfig, log_mel, mfcc

__all__ = ["Dataset", "FeatureConfig", "load_dataset", "log_mel", "mfcc"]
