"""The block classifier: which of the container's blocks are the article, which are furniture
left inside it (bylines, credits, teasers, tickers, paywall and subscription lines).

A logistic model over a few measurements of each block — its length, how much of it is links,
whether it is in capitals, how it ends, the kind of element it comes from, where it stands relative
to the article's paragraphs, and how prose-like its element and that element's parent are.
The weights are learned by `bench/train_blocks.py` from the tuning parts of the shared sets
only, and shipped as `extract_blocks.json`; pure Python at run time (a sum of a few dozen
terms per block).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .textdates import only_date

_WEIGHTS_FILE = Path(__file__).with_name("extract_blocks.json")

#: Names of the features, in the order `features` gives them (the weights file names them
#: too, so that a file and the code that disagree are refused rather than misread).
FEATURES = (
    "bias", "log_chars", "words", "link_share", "prose", "ends_sentence", "ends_colon",
    "heading", "item", "caption", "cell", "quote", "position", "before_prose", "after_prose",
    "capitals", "has_bar", "has_copyright", "prev_prose", "next_prose",
    "short", "gap", "element_prose", "parent_prose", "in_sibling", "repeated", "has_year",
    "relative_length", "ends_question", "label_start", "has_slash",
    "edge_first", "edge_last", "from_end", "short_with_link", "run_after", "links_after",
)
#: A line that opens with a short label and a colon ("Photo: …", "Updated: …", "Source: …").
#: (`features` tries it only on blocks holding a ":"; so does `_YEAR` below, only on blocks
#: holding a 1, a 2, a dot or a slash: keep those tests in step with the patterns.)
_LABEL = re.compile(r"^[^\W\d_][\w.-]*(?: [\w.-]+){0,2} ?:\s")
#: A dateline opens with a place in capitals and a comma ("LISBON, 14 March 2024").
_DATELINE = re.compile(r"^[^\W\d_a-z]{2,}(?:[ -][^\W\d_a-z]{2,})*,\s")
#: A year of this era, or a day.month. / month/day pair: what datelines and bylines carry.
#: (Written to start with the digit every match starts with, `(?<!\d)(?:19|20)\d\d(?!\d)|
#: \d\d?[./]\d\d?[./]` read from its first digit: the search then skips to digits instead
#: of trying the pattern at every character, three times faster on a block.)
_YEAR = re.compile(r"\d(?:(?<=1)(?<!\d\d)9\d\d(?!\d)|(?<=2)(?<!\d\d)0\d\d(?!\d)|\d?[./]\d\d?[./])")
_SENTENCE_END = frozenset(".!?。！？…\"”»’)")
#: `features` without weights: each feature as it is.
_UNSCALED = [1.0] * len(FEATURES)
#: Captions shorter than this, without a sentence, are judged like other short blocks.
_CREDIT_CHARS = 40


def exempt(blocks: list[str], good_at: list[int], kinds: list[str],
           links: list[float] | None = None) -> set[int]:
    """Blocks that FORMAT.md counts as the document's own and the classifier leaves alone:
    image captions, block quotations, preformatted text (a listing, a command to type),
    entries going on with a numbering ("entry", set by the caller), paragraphs that end as
    sentences, a dateline before the
    first paragraph (a place in capitals and a comma, or a date alone: "LISBON, 14 March
    2024", "May 20, 2024") and a signature (up to three short closing lines right after the
    last paragraph, without a sentence's final punctuation, that are not captions, "label: …"
    lines or rights lines). `good_at`: the positions of the
    prose blocks (at least one); `kinds`: the blocks' kinds, from `extract_clean` (only those
    of the blocks that can be judged need be filled in)."""
    # a caption is the document's own, but a short one without a sentence is most often a
    # photo credit ("© Name/Agency"): those are judged
    out = {i for i, kind in enumerate(kinds)
           if kind == "quote" or kind == "code" or kind == "entry" or (kind == "caption" and (
               len(blocks[i]) >= _CREDIT_CHARS or blocks[i][-1] in _SENTENCE_END))}
    # a sentence in a paragraph of its own is the article's, however short
    # (after the last prose block, one holding links is judged: "Tip: all our news are on
    # this page", "Write to us at … or follow us on …")
    last_good = good_at[-1]
    out.update(i for i, kind in enumerate(kinds)
               if kind == "paragraph" and blocks[i][-1] in _SENTENCE_END and " " in blocks[i]
               and (i <= last_good or not links or not links[i]))
    for i in range(good_at[0]):
        text = blocks[i]
        if _YEAR.search(text) and (_DATELINE.match(text) or only_date(text)):
            out.add(i)
    for i in range(good_at[-1] + 1, min(len(blocks), good_at[-1] + 4)):
        text = blocks[i]
        if len(text) >= 80 or text[-1] in _SENTENCE_END:
            break
        # (a caption, a "label: …" line or a rights line there is a credit, a source or
        # publication line or the site's notice: judged)
        if not (kinds[i] == "caption" or "©" in text or _LABEL.match(text)):
            out.add(i)
    return out


def features(blocks: list[str], links: list[float], goods: list[bool], frames: list,
             kinds: list[str], todo: list[int], good_at: list[int], in_sibling: list[bool],
             repeated: list[bool], scale: list[float] | None = None) -> list[list[float]]:
    """A feature row for each block at the positions `todo` (blocks are the container's, in
    order; `frames` and `kinds` theirs, needed only at the positions of `todo`; `good_at` the
    positions of the prose blocks, at least one); `in_sibling` and `repeated`, one for each
    position of `todo`, say whether the block is outside the chosen container (in a sibling
    that joined it) and whether the same text stands elsewhere on the page too (a caption
    repeated in a gallery, a teaser shown twice).

    With `scale` (the model's weights), each feature comes multiplied by its own: the row is
    then the terms of the model's sum (`Model.keep`), which saves a multiplication and a float
    for every feature that is 0 (most are 0 or 1)."""
    k = scale if scale is not None else _UNSCALED
    n = len(blocks)
    first_good = good_at[0]
    last_good = good_at[-1]
    rows: list[list[float]] = []
    lengths = sorted([len(blocks[i]) for i in good_at])
    typical = lengths[len(lengths) // 2]
    # `todo` is in order: the nearest prose blocks are found by walking along `good_at`
    # (conditionals rather than min(): this loop runs for every judged block of every page)
    at = 0
    n_good = len(good_at)
    far = 1 << 30
    for j, i in enumerate(todo):
        while at < n_good and good_at[at] < i:
            at += 1
        after = good_at[at] - i if at < n_good else far
        before = i - good_at[at - 1] if at else far
        gap = after if after < before else before
        # what follows: how many blocks until the next prose one (a heading or label over
        # teasers, a credit before the next paragraph), and how much of the next three is links
        nxt = at + 1 if after == 0 else at  # (a judged prose block: the one after it)
        run = good_at[nxt] - i - 1 if nxt < n_good else n - 1 - i
        ahead = links[i + 1:i + 4]
        text = blocks[i]
        chars = len(text)
        words = text.count(" ") + 1
        relative = chars / typical
        kind = kinds[i]
        last = text[-1]
        frame = frames[i]
        parent = frame[5]
        total = frame[2] + frame[3] + frame[4]
        parent_total = parent[2] + parent[3] + parent[4] if parent is not None else 0
        rows.append([
            k[0],
            k[1] * (math.log1p(chars) / 6.0),
            k[2] * ((words if words < 100 else 100) / 100.0),
            k[3] * links[i],
            k[4] if goods[i] else 0.0,
            k[5] if last in _SENTENCE_END else 0.0,
            k[6] if last == ":" else 0.0,
            k[7] if kind == "heading" else 0.0,
            k[8] if kind == "item" else 0.0,
            k[9] if kind == "caption" else 0.0,
            k[10] if kind == "cell" else 0.0,
            k[11] if kind == "quote" else 0.0,
            k[12] * (i / n),
            k[13] if i < first_good else 0.0,
            k[14] if i > last_good else 0.0,
            k[15] if text.isupper() else 0.0,
            k[16] if "|" in text else 0.0,
            k[17] if "©" in text else 0.0,
            k[18] if i > 0 and goods[i - 1] else 0.0,
            k[19] if i + 1 < n and goods[i + 1] else 0.0,
            k[20] if chars < 30 else 0.0,
            k[21] * ((gap if gap < 5 else 5) / 5.0),
            k[22] * (frame[2] / total if total else 0.0),
            k[23] * (parent[2] / parent_total if parent_total else 0.0),
            k[24] if in_sibling[j] else 0.0,
            k[25] if repeated[j] else 0.0,
            # (a year needs a 1 or a 2, a numeric date a dot or a slash: most blocks are
            # decided without the pattern)
            k[26] if chars < 200 and ("1" in text or "2" in text or "." in text or "/" in text)
            and _YEAR.search(text) else 0.0,
            k[27] * ((relative if relative < 3.0 else 3.0) / 3.0),
            k[28] if last == "?" else 0.0,
            k[29] if chars < 200 and ":" in text and _LABEL.match(text) else 0.0,
            k[30] if chars < 200 and "/" in text else 0.0,
            # the container's first or last prose blocks, judged too (a subscription prompt,
            # an author's bio or a disclaimer set as a paragraph at the body's edge)
            k[31] if i == first_good else 0.0,
            k[32] if i == last_good else 0.0,
            k[33] * ((n - 1 - i if n - 1 - i < 5 else 5) / 5.0),
            k[34] if chars < 300 and links[i] > 0.0 else 0.0,
            k[35] * ((run if run < 5 else 5) / 5.0),
            k[36] * (sum(ahead) / 3.0),
        ])
    return rows


class Model:
    """Logistic weights over FEATURES, and the probability under which a block is dropped."""

    __slots__ = ("cut", "weights")

    def __init__(self, weights: list[float], threshold: float):
        if len(weights) != len(FEATURES):
            raise ValueError(f"{len(weights)} weights for {len(FEATURES)} features")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold {threshold} is not a probability")
        self.weights = weights
        self.cut = math.log(threshold / (1.0 - threshold))

    @classmethod
    def load(cls, path: Path = _WEIGHTS_FILE) -> Model | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text("utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: trained on other features than the code computes")
        return cls([float(w) for w in data["weights"]], float(data["threshold"]))

    def keep(self, terms: list[float]) -> bool:
        """Whether a block is the article's, from its row of features times the weights
        (`features(..., scale=self.weights)`): the same sum, term by term in the same order, as
        the weights' dot product with the plain row (a feature of 1 times its weight is the
        weight; one of 0 adds nothing), without a multiplication per feature."""
        # p = 1 / (1 + e^-z) >= threshold  <=>  z >= logit(threshold)
        return sum(terms) >= self.cut

    @property
    def threshold(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.cut))


MODEL = Model.load()
