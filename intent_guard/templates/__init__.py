"""The extraction-template library, its FAISS index and the similarity features built on it."""

from .index import TemplateIndex, build_index
from .library import Template, load_templates, write_templates
from .similarity import CATEGORIES, SimilarityFeatures, similarity_features

__all__ = [
    "CATEGORIES",
    "SimilarityFeatures",
    "Template",
    "TemplateIndex",
    "build_index",
    "load_templates",
    "similarity_features",
    "write_templates",
]
