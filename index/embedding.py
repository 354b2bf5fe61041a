"""Sentence embeddings: a text -> a unit vector, so that a question and a sentence
meaning the same thing lie close together even when they share no word.

Two kinds of model, one interface (`SentenceEncoder.encode`: texts -> float32 rows of
length 1, so a dot product is the cosine):

- `StaticEncoder`: a Model2Vec static model, a table of one vector per token; a
  sentence is the mean of its tokens' rows. No torch, no download: the bundled one,
  `index/data/static-minilm/`, is distilled from sentence-transformers/all-MiniLM-L6-v2
  (Apache-2.0; LICENSE and provenance.json beside it; `scripts/build_static_model.py`
  rebuilds it). It reads Model2Vec's own files with `tokenizers` and `safetensors`
  rather than importing the `model2vec` package, whose import (joblib, the model hub
  client) would add about 0.3 s to every `qabot ask`; a test checks that both give
  the same vectors.
- `TransformerEncoder`: any sentence-transformers model, by name or folder, loaded by
  sentence-transformers itself on the CPU (the optional extra `qabot[semantic]`).

`load_encoder(spec)` turns the `QABOT_SEMANTIC_MODEL` setting into one of these, or None
for "off".

Failure behaviour: loading raises `SemanticModelError` with one line naming the model
and what is wrong (a missing folder, a broken file, the extra not installed, a model a
sentence-transformers name cannot find offline). Encoding never sees user input it
cannot handle: the tokenizer takes any str, and a text with no known token gets a zero
vector (cosine 0 with everything).
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from corpus.errors import QabotError

BUNDLED = "static"
"""The `QABOT_SEMANTIC_MODEL` value for the bundled static model (the default)."""
OFF = "off"
"""The `QABOT_SEMANTIC_MODEL` value that turns semantic re-ranking off."""
MAX_TOKENS = 512
"""Tokens of a text that count (Model2Vec's own default); news sentences are far shorter."""


class SemanticModelError(QabotError, ValueError):
    """A semantic model could not be loaded; the message names it and says why."""


class SentenceEncoder(Protocol):
    """What re-ranking needs of a model."""

    name: str
    """What the model is, for logs and `qabot index`: "static", or the name it was loaded by."""
    kind: str
    """"static" or "transformer": re-ranking weighs each kind's cosines its own way."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimensions) float32, each row of length 1 (or 0 for a text with no known token)."""
        ...


class StaticEncoder:
    """A Model2Vec folder: `tokenizer.json` plus `model.safetensors` (one row per token)."""

    kind = "static"

    def __init__(self, name: str, tokenizer: object, table: np.ndarray) -> None:
        self.name = name
        self._tokenizer = tokenizer
        self._table = table

    @classmethod
    def load(cls, folder: Path, name: str | None = None) -> "StaticEncoder":
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tensors = load_file(str(folder / "model.safetensors"))
        except Exception as exc:  # the libraries raise their own types for missing and broken files
            raise SemanticModelError(f"the static model in {folder} could not be loaded: {exc}") from None
        table = tensors.get("embeddings")
        if table is None or table.ndim != 2 or table.shape[0] < tokenizer.get_vocab_size():
            raise SemanticModelError(f"{folder / 'model.safetensors'} holds no token table for its tokenizer")
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(name or str(folder), tokenizer, table)

    @property
    def dimensions(self) -> int:
        return int(self._table.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        tokenizer = self._tokenizer
        if len(texts) == 1:  # a question: one call, without the batch call's overhead (a third of the time)
            encodings = [tokenizer.encode(texts[0], add_special_tokens=False)]  # type: ignore[attr-defined]
        else:
            encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)  # type: ignore[attr-defined]
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        table = self._table
        for row, encoding in enumerate(encodings):
            ids = encoding.ids[:MAX_TOKENS]
            if ids:
                # The mean's direction is the sum's; the rows are made unit length below.
                out[row] = table.take(ids, axis=0).sum(axis=0, dtype=np.float32)
        return _unit_rows(out)


class TransformerEncoder:
    """A sentence-transformers model on the CPU."""

    kind = "transformer"

    def __init__(self, name: str, model: object) -> None:
        self.name = name
        self._model = model
        self._lock = threading.Lock()  # a torch module is not documented as safe to call from two threads

    @classmethod
    def load(cls, name_or_path: str) -> "TransformerEncoder":
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise SemanticModelError(
                f"QABOT_SEMANTIC_MODEL={name_or_path!r} needs the optional extra: pip install 'qabot[semantic]' "
                "(install the CPU build of torch first: pip install torch==2.13.0)"
            ) from None
        try:
            model = SentenceTransformer(name_or_path, device="cpu")
        except Exception as exc:  # OSError for a missing model, ValueError and others for a broken one
            raise SemanticModelError(f"the sentence-transformers model {name_or_path!r} could not be loaded: {exc}") from None
        return cls(name_or_path, model)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(  # type: ignore[attr-defined]
                list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)


def bundled_model_folder() -> Path:
    return Path(str(resources.files("index") / "data" / "static-minilm"))


def load_encoder(spec: str) -> SentenceEncoder | None:
    """The encoder `QABOT_SEMANTIC_MODEL` names: "static" (the bundled model), "off" (None),
    a Model2Vec folder, or a sentence-transformers model name or folder."""
    spec = spec.strip()
    if spec.lower() == OFF:
        return None
    if spec.lower() == BUNDLED:
        return StaticEncoder.load(bundled_model_folder(), name=BUNDLED)
    folder = Path(spec).expanduser()
    if _is_model2vec_folder(folder):
        return StaticEncoder.load(folder)
    return TransformerEncoder.load(spec)


def _is_model2vec_folder(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "model2vec"


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)
