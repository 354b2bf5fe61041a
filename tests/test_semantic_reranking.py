"""Semantic re-ranking: the best lexical candidates re-ordered by meaning, with the bundled
static model by default (no torch, no download) and any sentence-transformers model with
the optional extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.answering.answer import Outcome
from bot.app import load_core
from bot.answering.evaluation import load_questions
from bot.settings import Settings
from index.analysis import Analyzer
from index.chunking import Chunk
from index.embedding import SemanticModelError, StaticEncoder, bundled_model_folder, load_encoder
from index.query import Lexicon, parse_question
from index.reranking import Reranker, SentenceVectors
from index.selection import rank
from index.sentence_index import SentenceIndex
from tests.conftest import REPO, make_settings


@pytest.fixture(scope="module")
def static() -> StaticEncoder:
    encoder = load_encoder("static")
    assert isinstance(encoder, StaticEncoder)
    return encoder


def test_the_default_install_re_ranks_with_the_bundled_model_without_torch():
    # A fresh process, as `qabot ask` would be: the default loads the static model and never torch.
    script = (
        "import sys; from bot.app import load_core; from bot.settings import Settings; "
        "core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=sys.argv[1])); "
        "a = core.answer('why did ring call off the flock partnership'); "
        "print(core.reranker.encoder.name, a.answered, 'torch' in sys.modules, 'model2vec' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script, str(REPO / ".pytest_cache" / "semantic")], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == ["static", "True", "False", "False"]


def test_the_bundled_model_ships_its_licence_provenance_and_rebuild_script():
    folder = bundled_model_folder()
    assert "Apache License, Version 2.0" in (folder / "LICENSE").read_text()
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert provenance["source_licence"] == "Apache-2.0"
    assert (REPO / "scripts" / "build_static_model.py").is_file()
    assert sum(f.stat().st_size for f in folder.iterdir()) < 20_000_000  # stays a small package


def test_vectors_are_unit_length_and_a_paraphrase_is_closer_than_an_unrelated_sentence(static: StaticEncoder):
    vectors = static.encode([
        "police can skip getting a warrant",
        "Law enforcement could bypass the court order.",
        "The weather in Seattle was rainy on Tuesday.",
        "",  # nothing to embed: a zero vector, cosine 0 with everything
        "😀 <@123> **bold** \u202e",
    ])
    assert vectors.dtype == np.float32 and vectors.shape == (5, static.dimensions)
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_our_reading_of_the_static_model_gives_model2vecs_own_vectors(static: StaticEncoder):
    model2vec = pytest.importorskip("model2vec")
    theirs = model2vec.StaticModel.from_pretrained(str(bundled_model_folder()))
    texts = ["Why did Ring drop Flock?", "Flock Safety runs a network of licence-plate cameras.", "ok"]
    # model2vec averages in float16, we in float32: equal to float16 precision.
    assert np.allclose(theirs.encode(texts), static.encode(texts), atol=2e-3)


def _council_index() -> SentenceIndex:
    paragraphs = [
        ["The camera network covers downtown.", "Members criticised the vendor."],
        ["The council voted on the camera contract.", "Council members asked about the contract."],
        ["Its cameras photograph passing cars.", "Residents feared the images could reach immigration agents."],
    ]
    chunks = [Chunk(0, p, i, text) for p, sentences in enumerate(paragraphs) for i, text in enumerate(sentences)]
    return SentenceIndex.from_chunks(chunks, Analyzer())


def test_a_paraphrase_finds_the_sentence_that_means_it_among_those_sharing_its_one_word(static: StaticEncoder):
    # The question shares only "camera" with the articles (no lexicon: "pictures", "vehicle" and
    # "drives" are in no sentence), and two sentences of four terms hold it: lexically a tie, which
    # goes to the earlier one. By meaning, the one about photographing cars answers.
    index = _council_index()
    query = parse_question("do the cameras take pictures of each vehicle that drives by?",
                           index.analyzer, index.vocabulary(), Lexicon.parse(""))
    lexical = rank(index, query, 3)
    semantic = rank(index, query, 3, Reranker.for_encoder(static))
    answer = "Its cameras photograph passing cars."
    assert index.texts[lexical.hits[0].chunk] == "The camera network covers downtown."
    assert index.texts[semantic.hits[0].chunk] == answer
    assert all(h.similarity is not None and -1.0 <= h.similarity <= 1.0 for h in semantic.hits)
    assert semantic.best_similarity == max(h.similarity for h in semantic.hits)
    assert all(h.similarity is None for h in lexical.hits) and lexical.best_similarity is None


def test_with_re_ranking_off_the_ranking_is_the_lexical_one(tmp_path: Path):
    core = load_core(make_settings(tmp_path, semantic_model="off"))
    assert core.reranker is None
    for question in [q.question for q in load_questions(REPO / "eval" / "chat.jsonl")]:
        answer = core.answer(question)
        query = parse_question(question, core.index.analyzer, core.vocabulary, core.lexicon)
        if not query.known_concepts or answer.outcome is Outcome.CHAT:  # chat noise is never searched
            continue
        hits = rank(core.index, query, core.top_k).hits
        assert [p.sentence for p in answer.passages] == [core.index.texts[h.chunk] for h in hits], question


def test_a_large_corpus_re_ranks_fewer_candidates(static: StaticEncoder):
    """Nearly every question to a million sentences meets sentences never embedded: fewer are
    re-ranked there (the same figures on every quality set), all 30 in a small corpus."""
    reranker = Reranker.for_encoder(static)
    assert reranker.pool_for(114) == 30
    assert reranker.pool_for(1_000_000) == 10
    assert Reranker.for_encoder(static, pool=5).pool_for(1_000_000) == 5  # never more than asked for


def test_the_sentence_cache_is_bounded_and_remembers_by_text(static: StaticEncoder):
    cache = SentenceVectors(static, capacity=3)
    first = cache.vectors(["a camera", "a doorbell", "a warrant"])
    again = cache.vectors(["a doorbell", "a camera", "a fourth thing", "a fifth thing"])
    assert len(cache) == 3
    assert np.array_equal(first[1], again[0]) and np.array_equal(first[0], again[1])


def test_the_setting_names_the_model_and_a_bad_one_stops_with_one_line(tmp_path: Path):
    assert Settings.load(environ={}, dotenv_path=None).semantic_model == "static"
    assert Settings.load(environ={"QABOT_SEMANTIC_MODEL": " OFF "}, dotenv_path=None).semantic_model == "off"
    missing = tmp_path / "no-such-model"
    with pytest.raises(SemanticModelError, match="no-such-model"):
        load_core(make_settings(tmp_path, semantic_model=str(missing)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "model2vec"}')
    (broken / "tokenizer.json").write_text("{not json")
    with pytest.raises(SemanticModelError, match="could not be loaded"):
        load_encoder(str(broken))


def test_a_bad_semantic_model_makes_qabot_ask_say_so_in_one_line(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "why did ring drop flock"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "QABOT_CACHE_DIR": str(tmp_path / "c"),
             "QABOT_SEMANTIC_MODEL": str(tmp_path / "nowhere"), "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode != 0
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr
