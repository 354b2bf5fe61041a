"""Fit the decline model (index/data/decline_model.json) on labelled questions.

    pip install -e '.[fit]'        # scikit-learn, only for this script
    python scripts/fit_decline.py  [--precision 0.75] [--write] [--report]

Each question is answered by qabot exactly as a user's would be, and the decline
signals of that answer (`index.decline.signals`) are recorded with its label:
answerable (the file gives answers) or not. A logistic regression over the signals
(standardised; scikit-learn's LogisticRegression, L2, C=1) gives the probability that a
question is answerable; the threshold is the highest one at which the questions the
bot declines are truly unanswerable at least `--precision` of the time, on the
fitting questions (so a decline is an honest "the articles don't say" that often).

Fitting questions (the sets are weighted equally, so a large one does not drown a small one):
- SQuAD 2.0 dev, two Wikipedia articles with their own corpus (../shared/eval/squad2-dev);
- eval/chat.jsonl rows with split=tune (chat-style questions about the bundled articles);
- half of eval/offtopic.jsonl (questions on other topics asked of the bundled articles),
  the rows whose position in the file is even.
Held out, reported only: chat split=test, the other half of offtopic, ../shared/eval/dev.jsonl,
eval/team.jsonl, and SQuAD by article (fitted on one article, measured on the other).

`--write` stores the coefficients with how they were made; `--report` prints Hit@1,
Hit@3, answerable wrongly declined and unanswerable declined for each set with the
model as fitted (the current model file when not writing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.answering.core import AnsweringCore  # noqa: E402
from bot.answering.evaluation import hit_rank as eval_hit_rank  # noqa: E402
from bot.app import load_core  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.decline import FEATURES, SEMANTIC, DeclineModel  # noqa: E402

SHARED = ROOT.parent.parent / "shared" / "eval"
SQUAD = Path("/work/shared/eval/squad2-dev")
DEV = Path("/work/shared/eval/dev.jsonl")
MODEL_FILE = ROOT / "index" / "data" / "decline_model.json"


@dataclass
class Row:
    set_name: str
    question: str
    answerable: bool
    group: str
    """For SQuAD: its article (for fitting on one and measuring on the other)."""
    values: dict[str, float] | None
    """The decline signals; None when the question was never searched (nothing known in it)."""
    rank: int | None
    """1-based rank of the first passage that holds an answer, None if none does."""


EXTRA_ENV: dict[str, str] = {}
"""Settings for every core the fit asks (--env), e.g. QABOT_SEMANTIC_MODEL=off for a lexical-only model."""


def make_core(corpus: Path | None) -> AnsweringCore:
    env = {"QABOT_CACHE_DIR": str(Path(tempfile.gettempdir()) / "qabot-fit-cache"), "QABOT_QUESTION_LOG": "false"}
    env.update(EXTRA_ENV)
    if corpus is not None:
        env["QABOT_CORPUS_DIR"] = str(corpus)
    return load_core(Settings.load(environ=env, dotenv_path=None))


def hit_rank(answer, row: dict) -> int | None:
    """As `qabot eval` counts it: the passage holds an answer (and lies in the row's paragraph)."""
    return eval_hit_rank(answer, row.get("answers", []), row.get("paragraph"))


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def collect(set_name: str, rows: list[dict], core: AnsweringCore) -> list[Row]:
    out = []
    for row in rows:
        answer = core.answer(row["question"])
        out.append(
            Row(
                set_name=set_name,
                question=row["question"],
                answerable=bool(row.get("answers")),
                group=str(row.get("article", "")),
                values=answer.signals or None,
                rank=hit_rank(answer, row),
            )
        )
    return out


def load_sets() -> tuple[list[Row], list[Row]]:
    """(fitting rows, held-out rows)."""
    fit: list[Row] = []
    held: list[Row] = []
    fit += collect("squad2-dev", read_rows(SQUAD / "questions.jsonl"), make_core(SQUAD / "articles"))
    bundled = make_core(None)
    chat = ROOT / "eval" / "chat.jsonl"
    if chat.exists():
        rows = read_rows(chat)
        fit += collect("chat (tune)", [r for r in rows if r.get("split") == "tune"], bundled)
        held += collect("chat (test)", [r for r in rows if r.get("split") == "test"], bundled)
    offtopic = ROOT / "eval" / "offtopic.jsonl"
    if offtopic.exists():
        rows = read_rows(offtopic)
        fit += collect("offtopic (even)", rows[0::2], bundled)
        held += collect("offtopic (odd)", rows[1::2], bundled)
    held += collect("dev", read_rows(DEV), bundled)
    held += collect("team", read_rows(ROOT / "eval" / "team.jsonl"), bundled)
    return fit, held


FITTED = list(FEATURES)
"""The signals fitted: FEATURES, plus SEMANTIC with --semantic."""


def matrix(rows: list[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    searched = [r for r in rows if r.values is not None]
    x = np.array([[r.values.get(f, 0.0) for f in FITTED] for r in searched], dtype=np.float64)
    y = np.array([r.answerable for r in searched], dtype=np.int64)
    sets = sorted({r.set_name for r in searched})
    counts = {s: sum(r.set_name == s for r in searched) for s in sets}
    # Each set weighs the same in all, whatever its size.
    w = np.array([len(searched) / (len(sets) * counts[r.set_name]) for r in searched])
    return x, y, w


def fit(rows: list[Row]):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y, w = matrix(rows)
    scaler = StandardScaler().fit(x)
    scales = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - scaler.mean_) / scales, y, sample_weight=w)
    return scaler.mean_, scales, model.coef_[0], float(model.intercept_[0])


def probabilities(rows: list[Row], model: DeclineModel) -> list[float]:
    return [model.probability(r.values) if r.values is not None else 0.0 for r in rows]


def choose_threshold(rows: list[Row], model: DeclineModel, precision: float) -> float:
    """The highest threshold whose declines (weighted as in the fit) are unanswerable
    at least `precision` of the time."""
    p = np.array(probabilities(rows, model))
    y = np.array([r.answerable for r in rows])
    sets = sorted({r.set_name for r in rows})
    counts = {s: sum(r.set_name == s for r in rows) for s in sets}
    w = np.array([1.0 / counts[r.set_name] for r in rows])
    best = 0.0
    for t in np.unique(np.round(p, 4)):
        declined = p < t
        if not declined.any():
            continue
        right = w[declined & ~y].sum()
        if right / w[declined].sum() >= precision:
            best = max(best, float(t))
    return best


def figures(rows: list[Row], model: DeclineModel) -> dict[str, object]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]

    def declined(r: Row) -> bool:
        return r.values is None or model.probability(r.values) < model.threshold

    n = max(len(answerable), 1)
    return {
        "questions": len(rows),
        "hit_at_1": round(sum(r.rank == 1 for r in answerable) / n, 3),
        "hit_at_3": round(sum(r.rank is not None and r.rank <= 3 for r in answerable) / n, 3),
        "answerable_wrongly_declined": f"{sum(map(declined, answerable))} of {len(answerable)}",
        "unanswerable_declined": f"{sum(map(declined, unanswerable))} of {len(unanswerable)}",
    }


def auc(rows: list[Row], model: DeclineModel) -> float:
    p = np.array(probabilities(rows, model))
    y = np.array([r.answerable for r in rows])
    pos, neg = p[y], p[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg)))


def as_model(mean, scales, coef, intercept, threshold=0.5, about=None) -> DeclineModel:
    return DeclineModel(
        features=tuple(FITTED),
        means=tuple(float(v) for v in mean),
        scales=tuple(float(v) for v in scales),
        coefficients=tuple(float(v) for v in coef),
        intercept=intercept,
        threshold=threshold,
        about=about or {},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", type=float, default=0.88, help="wanted share of declines that are unanswerable")
    parser.add_argument("--write", action="store_true", help="store the fitted model in index/data")
    parser.add_argument("--report", action="store_true", help="figures per set")
    parser.add_argument("--output", default=MODEL_FILE.name, help="file name in index/data to write")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a setting for the cores asked")
    parser.add_argument(
        "--semantic", action="store_true",
        help="also fit the semantic similarity signal (answers must carry it: the semantic stage on)",
    )
    args = parser.parse_args()

    if args.semantic:
        FITTED.append(SEMANTIC)
    for pair in args.env:
        key, _, value = pair.partition("=")
        EXTRA_ENV[key] = value
    model_file = MODEL_FILE.with_name(args.output)
    fit_rows, held_rows = load_sets()
    mean, scales, coef, intercept = fit(fit_rows)
    model = as_model(mean, scales, coef, intercept)
    model = replace(model, threshold=choose_threshold(fit_rows, model, args.precision))
    print("coefficients (standardised):")
    for name, c in zip(FITTED, coef):
        print(f"  {name:<22}{c:+.3f}")
    print(f"  {'intercept':<22}{intercept:+.3f}")
    print(f"threshold {model.threshold:.4f} for decline precision >= {args.precision}")

    # SQuAD by article: fitted on one article's questions (plus the other fitting sets), measured on the other.
    squad = [r for r in fit_rows if r.set_name == "squad2-dev"]
    others = [r for r in fit_rows if r.set_name != "squad2-dev"]
    cross: dict[str, object] = {}
    for article in sorted({r.group for r in squad}):
        train = others + [r for r in squad if r.group != article]
        test = [replace(r, set_name=f"squad2-dev {article} (held out)") for r in squad if r.group == article]
        m = as_model(*fit(train))
        m = replace(m, threshold=choose_threshold(train, m, args.precision))
        cross[article] = {**figures(test, m), "auc": round(auc(test, m), 3)}

    per_set: dict[str, object] = {}
    for name in dict.fromkeys(r.set_name for r in fit_rows + held_rows):
        rows = [r for r in fit_rows + held_rows if r.set_name == name]
        per_set[name] = {**figures(rows, model), "auc": round(auc(rows, model), 3), "fitted_on": any(r in fit_rows for r in rows[:1])}
    if args.report or not args.write:
        for name, f in {**per_set, **{f"squad2-dev {a}, fitted without it": f for a, f in cross.items()}}.items():
            print(f"{name:<44}{json.dumps(f)}")

    if args.write:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        about = {
            "made_by": "scripts/fit_decline.py",
            "commit": commit,
            "method": "scikit-learn LogisticRegression (L2, C=1) on standardised signals; each set weighted equally",
            "settings": dict(EXTRA_ENV),
            "label": "1 = the question is answerable from the articles (its file gives answers), 0 = not",
            "threshold_rule": f"highest threshold whose declines on the fitting sets are unanswerable >= {args.precision} (sets weighted equally)",
            "decline_precision": args.precision,
            "fitting_sets": {n: f for n, f in per_set.items() if f["fitted_on"]},
            "held_out_sets": {n: f for n, f in per_set.items() if not f["fitted_on"]},
            "squad2_dev_by_article": cross,
        }
        data = {
            "features": FITTED,
            "means": [round(float(v), 6) for v in mean],
            "scales": [round(float(v), 6) for v in scales],
            "coefficients": [round(float(v), 6) for v in coef],
            "intercept": round(intercept, 6),
            "threshold": round(model.threshold, 4),
            "about": about,
        }
        model_file.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {model_file.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
