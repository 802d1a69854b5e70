"""The dictionary: jieba, one per process, with the merchants' names added as words, and the
vocabulary of Latin-script title words that a misspelt query word is corrected against.

It holds the Chinese parts of the merchants' product and app names (in every language they
gave), and the Latin words of those names as the index holds them (stemmed). A process learns a name
when it indexes it, and every process (web workers, the worker) loads the names written by
others from the index itself: all of them the first time, then those whose doc changed since
(an indexed `updated_at`), at most every DICTIONARY_SECONDS, once each doc is DICTIONARY_LAG
old (its writer has committed).

`dictionary` is per-process state that the server's threads share: loading jieba and adding
words hold its lock. (The module is `lexicon`, not `dictionary`, so that the package's
`search.dictionary` is this object and never the module.)
"""

import logging
import math
import threading
import time
import warnings
from datetime import datetime, timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from tapgo.discovery.models import SearchDoc
from tapgo.discovery.search.text import runs

log = logging.getLogger(__name__)

DICTIONARY_SECONDS = 2.0
DICTIONARY_LAG = timedelta(seconds=3)
DICTIONARY_WORD_FREQ = 1000  # enough for a name to win over its pieces in jieba's route
MAX_DICTIONARY_WORD = 16
# A query word this long or longer (Latin letters, as typed) may have one typo corrected: an
# insertion, a deletion, a substitution or two neighbours swapped (docs/decisions/0014).
MIN_TYPO_WORD = 5
MAX_CORRECTIONS = 4


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def one_edit_apart(a: str, b: str) -> bool:
    """Whether b is a (different) word one edit from a: insert, delete, substitute, swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


class _Dictionary:
    """jieba, loaded when first needed, with the merchants' names added as words."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizer: Any = None  # a jieba.Tokenizer (jieba has no types)
        self._known: set[str] = set()
        # The vocabulary: Latin title terms (stemmed, as indexed) with about how many names
        # hold them (a name read again after a change counts again: only a ranking), and
        # each term's one-letter deletions pointing back at it (what a misspelt word is
        # looked up by).
        self._terms: dict[str, int] = {}
        self._by_deletion: dict[str, set[str]] = {}
        self._loaded_until: datetime | None = None  # the latest updated_at read from the index
        self._checked_at = -math.inf

    def tokenizer(self):
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SyntaxWarning)
                        import jieba  # here: importing it costs 0.2 s, paid only when needed

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    def cut(self, run: str) -> list[str]:
        return list(self.tokenizer().cut(run, HMM=False))

    def cut_for_search(self, run: str) -> list[str]:
        return list(self.tokenizer().cut_for_search(run, HMM=False))

    def learn(self, names) -> int:
        """Add the Chinese runs of these names as words; the number of new words."""
        tokenizer = self.tokenizer()
        added = 0
        with self._lock:
            for name in names:
                for kind, run in runs(name):
                    if kind != "han" or not 1 < len(run) <= MAX_DICTIONARY_WORD:
                        continue
                    if run in self._known:
                        continue
                    self._known.add(run)
                    if not tokenizer.FREQ.get(run):
                        tokenizer.add_word(run, freq=DICTIONARY_WORD_FREQ)
                        added += 1
        return added

    def learn_terms(self, terms_lists) -> int:
        """Add the Latin words of these indexed title terms (space-separated strings) to the
        vocabulary; the number of new words."""
        added = 0
        with self._lock:
            for terms in terms_lists:
                for term in set((terms or "").split()):
                    if len(term) < MIN_TYPO_WORD - 1 or not (term.isascii() and term.isalpha()):
                        continue
                    count = self._terms.get(term, 0)
                    self._terms[term] = count + 1
                    if count:
                        continue
                    added += 1
                    for key in (term, *_deletes(term)):
                        self._by_deletion.setdefault(key, set()).add(term)
        return added

    def corrections(self, term: str) -> list[str]:
        """Known title terms one edit from `term` (a stemmed Latin query word of at least
        MIN_TYPO_WORD letters that the vocabulary does not hold), most common first."""
        if len(term) < MIN_TYPO_WORD or not (term.isascii() and term.isalpha()):
            return []
        with self._lock:
            if term in self._terms:
                return []
            found: set[str] = set()
            for key in (term, *_deletes(term)):
                found.update(self._by_deletion.get(key, ()))
            ranked = sorted(
                (w for w in found if one_edit_apart(term, w)), key=lambda w: (-self._terms[w], w)
            )
        return ranked[:MAX_CORRECTIONS]

    def knows(self, word: str) -> bool:
        return word in self._known

    def refresh(self, *, force: bool = False) -> int:
        """Learn the names other processes indexed since the last look (throttled).

        The cursor is the latest updated_at read; a look reads the docs written after it and
        at least DICTIONARY_LAG ago, so a writer's transaction has committed by then (a doc
        whose transaction took longer, or a writer whose clock lags, is missed until the
        doc changes again: its words are still found, the dictionary only sharpens them).
        Each doc is read once, however many share one timestamp (a bulk reindex)."""
        if not force and time.monotonic() - self._checked_at < DICTIONARY_SECONDS:
            return 0
        self.tokenizer()
        horizon = timezone.now() - DICTIONARY_LAG
        docs = SearchDoc.objects.filter(
            kind__in=(SearchDoc.Kind.APP, SearchDoc.Kind.PRODUCT), updated_at__lte=horizon
        )
        if self._loaded_until is not None:
            docs = docs.filter(updated_at__gt=self._loaded_until)
        rows = list(docs.values_list("title", "translations", "title_terms", "updated_at"))
        latest = max((row[3] for row in rows), default=None)
        if self._loaded_until is None:
            self._loaded_until = latest or horizon
        elif latest is not None and latest > self._loaded_until:
            self._loaded_until = latest
        names = {row[0] for row in rows}
        names.update(t.get("title", "") for row in rows for t in (row[1] or {}).values())
        learned = self.learn(names)
        self.learn_terms(row[2] for row in rows)
        self._checked_at = time.monotonic()
        return learned


dictionary = _Dictionary()


def warm_in_background() -> None:
    """Load jieba and the merchants' words in a thread, so that the first search (or the first
    catalogue write) of a freshly started web process does not pay for it (about 2 s).
    `tapgo serve` asks for it through TAPGO_WARM_SEARCH (see tapgo/wsgi.py)."""

    def run():
        try:
            dictionary.refresh(force=True)
        except Exception:  # noqa: BLE001 - a warm-up that fails leaves the lazy load to do it
            log.warning("warming the search dictionary failed", exc_info=True)
        finally:
            connections.close_all()

    threading.Thread(target=run, name="search-warm-up", daemon=True).start()
