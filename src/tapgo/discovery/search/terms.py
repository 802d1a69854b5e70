"""Text to terms: what a doc is indexed under (`index_terms`), what a query must match
(`query_leaves`). Both back ends see only these space-separated, letters-and-digits terms.

Plain jieba cuts "拿铁" into 拿/铁, and once "燕麦拿铁" is in the dictionary its segmentation
for search emits 燕麦 and 燕麦拿铁 but not 拿铁. So a Chinese run is indexed as its
characters, its overlapping bigrams, and jieba's search segmentation (with the dictionary): a
bigram that is also a word is there twice, which ranks real words above chance neighbours. A
query is cut by jieba into words (consecutive single characters, which jieba leaves when it
knows no word, are joined again), and a word of two or more characters must match all its
bigrams, one of one character must match that character. "拿铁" then finds "燕麦拿铁",
"燕麦拿铁" finds it too, and so does "拿铁 燕麦". docs/decisions/0009-search.md has the
measurements behind this.

A query is never passed on as typed: it is cut to MAX_QUERY_CHARS first (so 10,000
characters cost nothing) and turned into at most MAX_QUERY_TERMS words, each a
letters-and-digits string. Latin words match as prefixes ("croiss" finds "Croissant"); one
of five letters or more that no indexed name holds also matches the names' words one typo
away ("croisant" finds "Croissant"), through the vocabulary of lexicon.py.
"""

from dataclasses import dataclass

from tapgo.discovery.search.lexicon import MIN_TYPO_WORD, dictionary
from tapgo.discovery.search.text import bigrams, grams, runs, stem

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
MAX_TERM_CHARS = 12  # a query word longer than this is cut (its bigrams would all be required)
MAX_LEAVES = 32
MAX_WORD_CHARS = 40  # longer words are cut, in the index and in queries alike

STOP_WORDS = frozenset({"a", "an", "and", "at", "for", "in", "of", "on", "or", "the", "to", "with"})


def index_terms(text: str, *, limit: int | None = None) -> str:
    """The terms a doc is indexed under, space-separated (what both back ends index)."""
    if limit is not None:
        text = text[: limit * 2]
    tokens: list[str] = []
    for kind, run in runs(text):
        if kind == "word":
            tokens.append(stem(run[:MAX_WORD_CHARS]))
            continue
        tokens.extend(grams(run))
        if kind == "han":
            tokens.extend(w for w in dictionary.cut_for_search(run) if len(w) > 1)
        if limit is not None and len(tokens) > limit:
            break
    return " ".join(tokens[:limit] if limit else tokens)


@dataclass(frozen=True)
class Leaf:
    term: str
    prefix: bool = False
    # Known words one typo away, any of which may match instead (lexicon.corrections).
    alternatives: tuple[str, ...] = ()

    def terms(self) -> tuple[str, ...]:
        return (self.term, *self.alternatives)


def query_leaves(query: str) -> list[Leaf]:
    """The terms a query must match, each a letters-and-digits string (never user syntax)."""
    if not isinstance(query, str):
        return []
    words: list[tuple[str, str]] = []
    for kind, run in runs(query[:MAX_QUERY_CHARS]):
        if kind == "han":
            words.extend(("cjk", w) for w in _join_singles(dictionary.cut(run)))
        else:
            words.append((kind if kind == "word" else "cjk", run))
    meaningful = [w for w in words if not (w[0] == "word" and w[1] in STOP_WORDS)]
    words = (meaningful or words)[:MAX_QUERY_TERMS]
    leaves: list[Leaf] = []
    for kind, word in words:
        if kind == "word":
            term = stem(word[:MAX_WORD_CHARS])
            # A word of MIN_TYPO_WORD letters or more that no name holds may be misspelt.
            fixes = dictionary.corrections(term) if len(word) >= MIN_TYPO_WORD else []
            leaves.append(Leaf(term, prefix=len(term) > 1, alternatives=tuple(fixes)))
        else:
            leaves.extend(Leaf(g) for g in bigrams(word[:MAX_TERM_CHARS]))
    return list(dict.fromkeys(leaves))[:MAX_LEAVES]


def _join_singles(words) -> list[str]:
    """jieba's words, with runs of single characters (words it did not know) joined again."""
    out: list[str] = []
    single = False
    for word in words:
        if len(word) == 1 and single:
            out[-1] += word
        else:
            out.append(word)
        single = len(word) == 1
    return out
