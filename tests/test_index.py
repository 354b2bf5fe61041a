"""The index splits news text into the right sentences and analyses questions and sentences alike."""

from __future__ import annotations

import pytest

from corpus import Article
from index.analysis import Analyzer, clean_text
from index.chunking import chunk_articles, split_sentences
from index.query import Lexicon, QuestionKind, parse_question, question_kind
from index.sentence_index import NO_NEIGHBOUR, SentenceIndex, name_initials


@pytest.mark.parametrize(
    "paragraph, expected",
    [
        (
            "Video has been used by the U.S. Navy, all of which had access. Flock said no.",
            ["Video has been used by the U.S. Navy, all of which had access.", "Flock said no."],
        ),
        (
            "Sen. Ed Markey, D-Mass., wrote an open letter, calling it “creepy.” Both confirmed it.",
            ["Sen. Ed Markey, D-Mass., wrote an open letter, calling it “creepy.”", "Both confirmed it."],
        ),
        (
            "“We can confirm it,” a spokesperson said. “This integration was never live.” Next.",
            ["“We can confirm it,” a spokesperson said.", "“This integration was never live.”", "Next."],
        ),
        (
            "Amazon’s Ring cancels partnership with Flock, a network of AI cameras used by ICE, feds, and police",
            ["Amazon’s Ring cancels partnership with Flock, a network of AI cameras used by ICE, feds, and police"],
        ),
    ],
)
def test_news_sentences_are_split_where_a_reader_would_split_them(paragraph, expected):
    assert split_sentences(paragraph) == expected


def test_every_chunk_knows_its_article_paragraph_and_position():
    articles = [
        Article("a", ("Ring ended the deal. Flock agreed.", "Police still ask.")),
        Article("b", ("The ad aired Sunday. Critics called it creepy. Wyze mocked it.",)),
    ]
    chunks = chunk_articles(articles)
    assert [(c.article, c.paragraph, c.position, c.text) for c in chunks] == [
        (0, 0, 0, "Ring ended the deal."),
        (0, 0, 1, "Flock agreed."),
        (0, 1, 0, "Police still ask."),
        (1, 0, 0, "The ad aired Sunday."),
        (1, 0, 1, "Critics called it creepy."),
        (1, 0, 2, "Wyze mocked it."),
    ]
    index = SentenceIndex.from_chunks(chunks, Analyzer())
    # Neighbours stay inside a paragraph: context never leaks across paragraphs or articles.
    assert index.previous.tolist() == [NO_NEIGHBOUR, 0, NO_NEIGHBOUR, NO_NEIGHBOUR, 3, 4]
    assert index.following.tolist() == [1, NO_NEIGHBOUR, NO_NEIGHBOUR, 4, 5, NO_NEIGHBOUR]


def test_a_run_on_sentence_is_cut_at_word_boundaries():
    sentences = split_sentences("word " * 600)
    assert len(sentences) > 1 and all(len(s) <= 1200 for s in sentences)
    assert " ".join(sentences).split() == ["word"] * 600


def test_unicode_is_normalised_the_same_way_for_questions_and_articles():
    analyzer = Analyzer()
    assert analyzer.analyze("Amazon’s “Ring”") == analyzer.analyze('Amazon\'s "Ring"') == ["amazon", "ring"]
    assert analyzer.analyze("ＦＬＯＣＫ") == ["flock"]  # NFKC folds full-width letters
    assert analyzer.analyze("flo\u200bck") == ["flock"]  # invisible characters are dropped
    assert clean_text("a\u202eb") == "ab"


def test_stopwords_go_and_stems_meet():
    analyzer = Analyzer()
    assert analyzer.analyze("The partnerships were cancelled") == analyzer.analyze("partnership canceled")
    assert analyzer.analyze("what is the") == []


def test_numbers_and_money_are_kept_as_terms():
    analyzer = Analyzer()
    assert analyzer.analyze("Amazon acquired Ring for $839 million in 2018.") == [
        "amazon", "acquir", "ring", "dollar", "839", "million", "2018"
    ]
    assert analyzer.analyze("an estimated 27% of households") == ["estim", "27", "percent", "household"]
    assert analyzer.analyze("over 5,000 cities and $5.8 million") == [
        "5000", "citi", "dollar", "5.8", "million"
    ]


def test_plain_ascii_sentences_give_the_words_the_full_tokenizer_gives():
    # Most sentences take a quicker path (no digit, apostrophe or non-ASCII character); it must
    # find exactly the tokens the general one does, whatever the punctuation and controls.
    import random

    from index.analysis import _TOKEN

    analyzer = Analyzer()
    chars = [chr(c) for c in range(128) if chr(c) not in "0123456789'"]
    pick = random.Random(14)
    for _ in range(20_000):
        text = "".join(pick.choice(chars) for _ in range(pick.randint(0, 40)))
        assert analyzer.words(text) == _TOKEN.findall(clean_text(text).casefold()), text
    assert analyzer.words("Flock-Safety's\tcameras, (ICE)!") == ["flock", "safety", "cameras", "ice"]


def test_ascii_sentences_with_numbers_and_apostrophes_give_the_words_the_full_tokenizer_gives():
    # ASCII text with a digit or an apostrophe is cut into pieces before the token pattern looks
    # at them; the words must be those the general path gives (tokens, numbers expanded, "'s" off).
    import random

    from index.analysis import _TOKEN, _number_terms

    def general(text: str) -> list[str]:
        words: list[str] = []
        for token in _TOKEN.findall(clean_text(text).casefold()):
            if token[0].isdigit() or token[0] == "$":
                words.extend(_number_terms(token))
            else:
                words.append(token[:-2] if token.endswith("'s") else token)
        return words

    analyzer = Analyzer()
    chars = [chr(c) for c in range(128)] + list("0123456789$%.,'") * 4
    pick = random.Random(15)
    for _ in range(20_000):
        text = "".join(pick.choice(chars) for _ in range(pick.randint(0, 40)))
        assert analyzer.words(text) == general(text), text
    assert analyzer.words("Ring's 1,200.50 cameras cost $5,000 (27%), didn't they?") == [
        "ring", "1,200.50", "cameras", "cost", "dollar", "5000", "27", "percent", "didn't", "they"
    ]


def test_flags_found_for_many_sentences_at_once_are_each_sentences_own():
    from index.chunking import Chunk
    from index.features import sentence_flags
    from index.sentence_index import _analyse_chunks

    analyzer = Analyzer()
    texts = [
        "The Federal Trade Commission (FTC) said in Paris that 40% of drones cost $1,200 in 2019.",
        "prices rose due to the storm, and so that was that",
        "Flock Safety, a firm known as Flock, was called Border by the agency.",
        "nothing here at all",
        "",
        "Caf\u00e9 owners in Z\u00fcrich said the U.S. Navy\u2019s ships came because of \uff11\uff12 storms.",
        "Years ago, in January, Ananel Deverport led to a result.",
    ]
    part = _analyse_chunks([Chunk(i, 1, 0, text) for i, text in enumerate(texts)], analyzer)
    assert part.flags.tolist() == [sentence_flags(text, analyzer.words(text)) for text in texts]


def test_the_analyzer_fingerprint_changes_with_its_stopwords():
    assert Analyzer().fingerprint == Analyzer().fingerprint
    assert Analyzer().fingerprint != Analyzer(stopword_file="lexicon_en.txt").fingerprint


@pytest.fixture(scope="module")
def small_index() -> SentenceIndex:
    articles = [
        Article(
            "a",
            (
                "The Super Bowl advert sparked criticism from households.",
                "The Federal Trade Commission ordered Ring to pay. Police can still request videos.",
            ),
        )
    ]
    return SentenceIndex.build(articles, Analyzer())


def concept_terms(question: str, index: SentenceIndex) -> list[dict[str, float]]:
    query = parse_question(question, index.analyzer, index.vocabulary(), Lexicon.bundled())
    return [dict(c.terms) for c in query.concepts]


def test_chat_words_are_repaired_against_the_articles_vocabulary(small_index):
    terms = concept_terms("superbowl housholds", small_index)
    assert set(terms[0]) == {"super", "bowl"}  # a compound split
    assert "household" in terms[1]  # a spelling fixed
    assert any("polic" in t for t in concept_terms("can cops get videos", small_index))  # shorthand
    assert concept_terms("realy", small_index) == []  # a misspelt stopword is dropped, not "real"
    assert set(concept_terms("ftc", small_index)[0]) == {"feder", "trade", "commiss"}  # an acronym


def test_a_word_the_articles_never_use_stays_in_the_query_as_unknown(small_index):
    query = parse_question("capital of australia", small_index.analyzer, small_index.vocabulary())
    assert [c.text for c in query.concepts] == ["capital", "australia"]
    assert not query.known_concepts


@pytest.mark.parametrize(
    "question, kind",
    [
        ("why'd ring bail on the flock thing", QuestionKind.REASON),
        ("When was Flock Safety founded?", QuestionKind.TIME),
        ("In what month did they announce it?", QuestionKind.TIME),
        ("how much did amazon pay for ring", QuestionKind.QUANTITY),
        ("which senator called the ring ad creepy", QuestionKind.PERSON),
        ("Where was a protest scheduled?", QuestionKind.PLACE),
        ("did flock deny the claims?", QuestionKind.YES_NO),
        ("What kind of network does Flock operate?", QuestionKind.OTHER),
    ],
)
def test_the_kind_of_answer_a_question_wants_is_recognised(question, kind):
    assert question_kind(question) is kind


def test_names_give_their_initials():
    assert ("ftc", "Federal Trade Commission") in name_initials("the Federal Trade Commission said")
    assert ("eff", "Electronic Frontier Foundation") in name_initials("The Electronic Frontier Foundation")


def test_the_expansion_lexicon_parses_and_rejects_malformed_lines():
    lexicon = Lexicon.parse("cops, cop -> police, law enforcement\nend = cancel\n")
    assert lexicon.entries[("cops",)] == ("police", "law enforcement")
    assert lexicon.entries[("end",)] == ("cancel",) and lexicon.entries[("cancel",)] == ("end",)
    with pytest.raises(ValueError, match="lexicon line"):
        Lexicon.parse("just words\n")
    assert Lexicon.bundled().entries  # the shipped file parses
