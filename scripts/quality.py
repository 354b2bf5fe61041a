"""Quick quality figures for the decline work: Hit@1, Hit@3, wrong declines, right declines,
on any question file against any corpus folder (a hit with `paragraph` also needs the
passage's sentence inside that paragraph, as for SQuAD).

    python scripts/quality.py FILE.jsonl [--corpus DIR] [--misses]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core import AnsweringCore  # noqa: E402
from bot.evaluation import normalise  # noqa: E402
from bot.settings import Settings  # noqa: E402


def make_core(corpus: str | None) -> AnsweringCore:
    env = {"QABOT_CACHE_DIR": tempfile.gettempdir() + "/qabot-quality-cache", "QABOT_QUESTION_LOG": "false"}
    if corpus:
        env["QABOT_CORPUS_DIR"] = corpus
    return AnsweringCore.from_settings(Settings.load(environ=env, dotenv_path=None))


def hit_rank(answer, row) -> int | None:
    wanted = [normalise(a) for a in row.get("answers", [])]
    paragraph = normalise(row["paragraph"]) if row.get("paragraph") else None
    for rank, passage in enumerate(answer.passages, start=1):
        if paragraph is not None and normalise(passage.sentence) not in paragraph:
            continue
        if any(w in normalise(passage.text) for w in wanted):
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--corpus")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--split")
    args = parser.parse_args()
    core = make_core(args.corpus)
    rows = [json.loads(l) for l in Path(args.file).read_text().splitlines() if l.strip()]
    if args.split:
        rows = [r for r in rows if r.get("split") == args.split]
    h1 = h3 = wrong = right = n_ans = n_un = 0
    for row in rows:
        answer = core.answer(row["question"])
        if row.get("answers"):
            n_ans += 1
            rank = hit_rank(answer, row)
            h1 += rank == 1
            h3 += rank is not None and rank <= 3
            wrong += not answer.answered
            if args.misses and (rank != 1 or not answer.answered):
                print(f"  miss rank={rank} answered={answer.answered} conf={answer.confidence:.2f}: {row['question']}")
        else:
            n_un += 1
            right += not answer.answered
            if args.misses and answer.answered:
                print(f"  answered unanswerable conf={answer.confidence:.2f}: {row['question']}")
    print(
        f"{Path(args.file).name}: Hit@1 {h1 / max(n_ans, 1):.3f}  Hit@3 {h3 / max(n_ans, 1):.3f}  "
        f"answerable wrongly declined {wrong}/{n_ans}  unanswerable declined {right}/{n_un}"
    )


if __name__ == "__main__":
    main()
