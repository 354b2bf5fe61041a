"""Whether the best passages answer the question: several signals, one fitted decision.

A passage can share every word of a question and still not answer it ("who founded
Flock?" against a sentence about Flock's founding year), and a question about the
weather can share one place name with the articles. No single number separates
these; together they do better:

- `coverage`: how much of the question's weight the best passage (with its context)
  covers, as ranking computes it;
- `own_coverage`: the same, counting the best sentence's own words only;
- `heaviest_missing`: the IDF (as a share of the rarest possible) of the heaviest
  question concept the best passage does not cover; a word the articles never use
  counts as the rarest;
- `unknown_share`: the share of the question's concepts the articles never use;
- `answer_type_asked` / `answer_type_missing`: the question asks for a kind of answer
  (a date, an amount, a name, a reason, a place), and the best sentence has none other
  than the question's own words; for "what is X", the best sentence does not say what X is;
- `margin`: how far the best passage's score stands above the second's (0..1);
- `concepts`: how many things the question asks about (log scale);
- `semantic`: the embedding similarity of question and first passage, when a
  semantic stage provides it (a model fitted without it gives it no weight).

A logistic model over these (fitted by `scripts/fit_decline.py` on labelled answerable and
unanswerable questions, each coefficient kept to the side `EXPECTED_SIGN` gives it) gives
the probability that the passage answers; below the model's threshold (chosen there for a
stated precision) the bot declines. The signals depend on the ranking that chose the
passage, so each ranking has its own model (`MODEL_FILES`, chosen by `DeclineModel.for_ranking`):
`data/decline_model.json` fitted on answers re-ranked by the bundled static model (the
default), `data/decline_model_off.json` on the lexical ranking alone (QABOT_SEMANTIC_MODEL=off).

Failure behaviour: a model file that is missing or malformed raises `DeclineModelError`
when loaded (at start-up, never per question); a feature the model names but the
signals lack counts as 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Mapping

from index.features import defining_pattern, offers_answer
from index.query import Query, QuestionKind, definition_subject
from index.selection import Ranking
from index.sentence_index import SentenceIndex

FEATURES = (
    "coverage",
    "own_coverage",
    "heaviest_missing",
    "unknown_share",
    "answer_type_asked",
    "answer_type_missing",
    "margin",
    "concepts",
)
"""The signals computed for every question, in the order the fit script writes them."""

EXPECTED_SIGN: Mapping[str, int] = {
    "coverage": 1,
    "own_coverage": 1,
    "heaviest_missing": -1,
    "unknown_share": -1,
    "answer_type_asked": 0,
    "answer_type_missing": -1,
    "margin": 1,
    "concepts": 0,
    "semantic": 1,
}
"""The way each signal may move the probability that the passage answers, whatever the fitting
questions say: more of the question covered, a clearer lead over the next passage or a closer
meaning never make an answer less likely; a missing word, unknown words or a missing kind of answer
never make it more likely (0: no prior, either way). The fit keeps each coefficient on its side
(a coefficient that would cross it is 0): with a few hundred noisy questions from a handful of
articles, an unconstrained fit learns signs that one article's questions happen to show (fitted
on one SQuAD article, the unconstrained model ranked the other's questions worse than chance)."""

MODEL_FILES: Mapping[str | None, str] = {
    None: "decline_model_off.json",
    "static": "decline_model.json",
}
"""The decline model for each kind of ranking: None, the lexical ranking alone; otherwise the kind of
semantic model re-ranking it (`embedding.SentenceEncoder.kind`). A kind without a model of its own
(a transformer) uses the default, `decline_model.json`, fitted on re-ranked answers."""


class DeclineModelError(ValueError):
    """The decline model file is missing or malformed; the message says which and why."""


SEMANTIC = "semantic"
"""The optional signal a semantic stage adds: cosine similarity of the question and the first
passage. A model that lists it must be fitted on answers that had it (`fit_decline.py --semantic`);
the bundled models do not (on the fitting questions it did not improve the decision, see README)."""


def signals(
    index: SentenceIndex, query: Query, ranking: Ranking, semantic: float | None = None
) -> dict[str, float]:
    """The decline signals for a question and its ranking (see the module docstring);
    `semantic`, when given, is the first passage's embedding similarity to the question."""
    concepts = query.concepts
    out = dict.fromkeys(FEATURES, 0.0)
    if semantic is not None:
        out[SEMANTIC] = semantic
    out["concepts"] = math.log1p(len(concepts))
    out["unknown_share"] = (len(concepts) - len(query.known_concepts)) / len(concepts) if concepts else 1.0
    typed = query.kind not in (QuestionKind.OTHER, QuestionKind.YES_NO)
    out["answer_type_asked"] = 1.0 if typed else 0.0
    if not ranking.hits:
        out["heaviest_missing"] = 1.0
        out["answer_type_missing"] = out["answer_type_asked"]
        return out
    top = ranking.hits[0]
    out["coverage"] = ranking.confidence
    if len(ranking.hits) > 1 and top.score > 0:
        out["margin"] = max(0.0, 1.0 - ranking.hits[1].score / top.score)
    elif top.score > 0:
        out["margin"] = 1.0
    if typed and not _offers_answer(index, query, top.chunk):
        out["answer_type_missing"] = 1.0

    out["own_coverage"] = ranking.own_confidence
    out["heaviest_missing"] = ranking.heaviest_missing
    return out


def _offers_answer(index: SentenceIndex, query: Query, chunk: int) -> bool:
    sentence = index.texts[chunk]
    if query.kind is QuestionKind.DEFINITION:
        subject = definition_subject(query.question)
        pattern = defining_pattern(tuple(subject.split())) if subject else None
        return bool(pattern and pattern.search(sentence))
    analyzer = index.analyzer
    asked = frozenset(analyzer.words(query.question))
    return bool(offers_answer(query.kind, sentence, analyzer.words(sentence), asked))


@dataclass(frozen=True)
class DeclineModel:
    """A fitted logistic model: probability that the best passage answers the question."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    """Below this probability the bot declines (chosen by the fit for a stated precision)."""
    about: Mapping[str, object]
    """How the model was made: data, counts, precision target, figures."""

    def probability(self, values: Mapping[str, float]) -> float:
        """The probability that the passage answers, from the signals (a missing one counts 0)."""
        z, weights = self._linear
        get = values.get
        for name, weight in weights:
            z += weight * get(name, 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    @cached_property
    def _linear(self) -> tuple[float, tuple[tuple[str, float], ...]]:
        """The standardised model as plain weights on the raw signals: one multiply-add each."""
        weights = tuple(c / s for c, s in zip(self.coefficients, self.scales))
        z = self.intercept - sum(w * m for w, m in zip(weights, self.means))
        return z, tuple(zip(self.features, weights))

    @classmethod
    def from_json(cls, text: str) -> "DeclineModel":
        try:
            data = json.loads(text)
            features = tuple(str(f) for f in data["features"])
            model = cls(
                features=features,
                means=tuple(float(v) for v in data["means"]),
                scales=tuple(float(v) for v in data["scales"]),
                coefficients=tuple(float(v) for v in data["coefficients"]),
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                about=dict(data.get("about", {})),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DeclineModelError(f"the decline model is malformed: {exc!r}") from None
        if not (len(model.means) == len(model.scales) == len(model.coefficients) == len(features)):
            raise DeclineModelError("the decline model's lists differ in length")
        if any(s <= 0 for s in model.scales) or not 0.0 <= model.threshold <= 1.0:
            raise DeclineModelError("the decline model has a scale <= 0 or a threshold outside 0..1")
        return model

    @classmethod
    def for_ranking(cls, semantic_kind: str | None) -> "DeclineModel":
        """The bundled model fitted on answers ranked as this core ranks them: `semantic_kind` is
        None for the lexical ranking alone, else the re-ranking model's kind (see `MODEL_FILES`)."""
        return cls.bundled(MODEL_FILES.get(semantic_kind, MODEL_FILES["static"]))

    @classmethod
    @lru_cache(maxsize=4)
    def bundled(cls, name: str = "decline_model.json") -> "DeclineModel":
        try:
            text = resources.files("index").joinpath("data").joinpath(name).read_text("utf-8")
        except OSError as exc:
            raise DeclineModelError(f"the decline model {name} cannot be read: {exc}") from None
        return cls.from_json(text)

