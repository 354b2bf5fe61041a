"""Fit the decline model (index/data/decline_model.json) on labelled questions.

    pip install -e '.[fit]'        # scikit-learn, only for this script
    python scripts/fit_decline.py  [--precision 0.75] [--write] [--report]
    python scripts/fit_decline.py --env QABOT_SEMANTIC_MODEL=off --output decline_model_off.json --write

Each question is answered by qabot exactly as a user's would be, and the decline
signals of that answer (`index.decline.signals`) are recorded with its label:
answerable (the file gives answers) or not. A logistic regression over the signals
(standardised, L2) gives the probability that a question is answerable, each
coefficient kept to the side `index.decline.EXPECTED_SIGN` allows (scipy's L-BFGS-B
with bounds; `--unconstrained` fits scikit-learn's LogisticRegression as before). The
L2 strength C is chosen by leave-one-group-out on the fitting questions (each SQuAD
article, each half of chat tune by id, held out in turn; offtopic always fitted):
the C whose held-out groups show the most unanswerable declined minus answerable
wrongly declined, at the threshold chosen without them. The threshold is the
highest one at which the questions the bot declines are truly unanswerable at least
`--precision` of the time, on the fitting questions (so a decline is an honest "the
articles don't say" that often).

The signals depend on the ranking: the default model is fitted on the default settings'
answers (re-ranked by the static model); the lexical-only ranking gets its own
(`--env QABOT_SEMANTIC_MODEL=off --output decline_model_off.json`), and the core takes the
one that matches its ranking (`index.decline.MODEL_FILES`).

Fitting questions (the sets are weighted equally, so a large one does not drown a small one):
- SQuAD 2.0 dev, two Wikipedia articles with their own corpus (../shared/eval/squad2-dev);
- eval/chat.jsonl rows with split=tune (chat-style questions about the bundled articles);
- half of eval/offtopic.jsonl (questions on other topics asked of the bundled articles),
  the rows whose position in the file is even.
Held out, reported only: chat split=test, the other half of offtopic, eval/casual.jsonl,
../shared/eval/dev.jsonl, eval/team.jsonl, and SQuAD by article (fitted on one article,
measured on the other).

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
from index.decline import EXPECTED_SIGN, FEATURES, SEMANTIC, DeclineModel  # noqa: E402

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
    """For SQuAD: its article (for fitting on one and measuring on the other); for chat, the
    parity of its id (the halves of leave-one-group-out)."""
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
                group=str(row.get("article") or _id_parity(row)),
                values=answer.signals or None,
                rank=hit_rank(answer, row),
            )
        )
    return out


def _id_parity(row: dict) -> str:
    digits = "".join(ch for ch in str(row.get("id", "")) if ch.isdigit())
    return f"id {'odd' if digits and int(digits) % 2 else 'even'}"


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
    casual = ROOT / "eval" / "casual.jsonl"
    if casual.exists():
        held += collect("casual", read_rows(casual), bundled)
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


SIGNED = True
"""Keep each coefficient to its EXPECTED_SIGN side (--unconstrained: no)."""
C_GRID = (0.03, 0.1, 0.3, 1.0)
"""The L2 strengths tried by leave-one-group-out (smaller: stronger pull towards 0)."""


def fit(rows: list[Row], c: float = 1.0):
    """(means, scales, coefficients, intercept) of the logistic model on standardised signals."""
    from sklearn.preprocessing import StandardScaler

    x, y, w = matrix(rows)
    scaler = StandardScaler().fit(x)
    scales = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    z = (x - scaler.mean_) / scales
    if not SIGNED:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=1000).fit(z, y, sample_weight=w)
        return scaler.mean_, scales, model.coef_[0], float(model.intercept_[0])
    theta = _signed_logistic(z, y.astype(np.float64), w, c, [EXPECTED_SIGN.get(f, 0) for f in FITTED])
    return scaler.mean_, scales, theta[1:], float(theta[0])


def _signed_logistic(z: np.ndarray, y: np.ndarray, w: np.ndarray, c: float, signs: list[int]) -> np.ndarray:
    """[intercept, coefficients] minimising the weighted logistic loss + |coef|^2 / 2C (as
    scikit-learn's L2 LogisticRegression does), each coefficient bounded to its sign's side."""
    from scipy.optimize import minimize

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta[1:]
        margin = theta[0] + z @ coef
        value = float(np.sum(w * (np.logaddexp(0.0, margin) - y * margin)) + 0.5 * coef @ coef / c)
        residual = w * (1.0 / (1.0 + np.exp(-margin)) - y)
        return value, np.concatenate(([residual.sum()], z.T @ residual + coef / c))

    bounds = [(None, None)] + [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs]
    result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x


def groups(rows: list[Row]) -> list[str]:
    """The leave-one-group-out groups of the fitting rows: each SQuAD article, each chat half
    (offtopic has no answerable rows to score, so it is always fitted on)."""
    return sorted({f"{r.set_name}: {r.group}" for r in rows if r.set_name != "offtopic (even)"})


def cross_validate(rows: list[Row], c: float, precision: float) -> dict[str, tuple[float, float]]:
    """For each group: (answerable wrongly declined, unanswerable declined), as shares, by the
    model fitted and thresholded without it."""
    out = {}
    for group in groups(rows):
        test = [r for r in rows if f"{r.set_name}: {r.group}" == group]
        train = [r for r in rows if f"{r.set_name}: {r.group}" != group]
        model = as_model(*fit(train, c))
        model = replace(model, threshold=choose_threshold(train, model, precision))
        declined = [r.values is None or model.probability(r.values) < model.threshold for r in test]
        answerable = [d for d, r in zip(declined, test) if r.answerable]
        unanswerable = [d for d, r in zip(declined, test) if not r.answerable]
        out[group] = (float(np.mean(answerable)) if answerable else 0.0, float(np.mean(unanswerable)) if unanswerable else 0.0)
    return out


def choose_c(rows: list[Row], precision: float) -> tuple[float, dict[str, float]]:
    """The C of C_GRID whose held-out groups gain most (unanswerable declined - answerable
    wrongly declined, averaged over groups); the smallest C of a tie."""
    scores = {}
    for c in C_GRID:
        folds = cross_validate(rows, c, precision)
        scores[c] = round(float(np.mean([u - a for a, u in folds.values()])), 4)
        print(f"  C={c:<5} held-out gain {scores[c]:+.3f}  " + "  ".join(
            f"{g}: {a:.2f} wrongly / {u:.2f} declined" for g, (a, u) in folds.items()))
    best = max(scores.values())
    return min(c for c, s in scores.items() if s == best), {str(c): s for c, s in scores.items()}


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
    parser.add_argument(
        "--unconstrained", action="store_true", help="scikit-learn's LogisticRegression, any sign (the old fit)"
    )
    parser.add_argument("--c", type=float, default=None, help="the L2 strength C (default: chosen by leave-one-group-out)")
    args = parser.parse_args()

    global SIGNED
    SIGNED = not args.unconstrained
    if args.semantic:
        FITTED.append(SEMANTIC)
    for pair in args.env:
        key, _, value = pair.partition("=")
        EXTRA_ENV[key] = value
    model_file = MODEL_FILE.with_name(args.output)
    fit_rows, held_rows = load_sets()
    print("leave-one-group-out on the fitting questions:")
    c, c_scores = (args.c, {}) if args.c is not None else choose_c(fit_rows, args.precision)
    print(f"C = {c}")
    mean, scales, coef, intercept = fit(fit_rows, c)
    model = as_model(mean, scales, coef, intercept)
    model = replace(model, threshold=choose_threshold(fit_rows, model, args.precision))
    print("coefficients (standardised):")
    for name, weight in zip(FITTED, coef):
        print(f"  {name:<22}{weight:+.3f}")
    print(f"  {'intercept':<22}{intercept:+.3f}")
    print(f"threshold {model.threshold:.4f} for decline precision >= {args.precision}")

    # SQuAD by article: fitted on one article's questions (plus the other fitting sets), measured on the other.
    squad = [r for r in fit_rows if r.set_name == "squad2-dev"]
    others = [r for r in fit_rows if r.set_name != "squad2-dev"]
    cross: dict[str, object] = {}
    for article in sorted({r.group for r in squad}):
        train = others + [r for r in squad if r.group != article]
        test = [replace(r, set_name=f"squad2-dev {article} (held out)") for r in squad if r.group == article]
        m = as_model(*fit(train, c))
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
            "method": (
                f"logistic regression (L2, C={c}) on standardised signals, "
                + ("each coefficient on its index.decline.EXPECTED_SIGN side (scipy L-BFGS-B)" if SIGNED
                   else "unconstrained (scikit-learn LogisticRegression)")
                + "; each set weighted equally"
            ),
            "c_by_leave_one_group_out": c_scores,
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
