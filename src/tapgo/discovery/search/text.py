"""Text as search sees it: normalised, cut into runs by script, words stemmed, CJK in grams.

NFKC, casefold, accents stripped ("Café" → "cafe"), and everything that is not a letter or a
digit (control characters and NUL, punctuation, emoji, symbols) becomes a space. Runs of
Chinese characters are segmented with jieba (terms.py, with the dictionary of lexicon.py);
other words are kept whole with a light plural/suffix stemming ("lattes" → "latt",
"berries" → "berri").

Nothing here knows a dictionary or a database: the same input gives the same output in
every process.
"""

import re
import unicodedata

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_OTHER_CJK = "\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_WORDS = re.compile(r"[^\W_]+")
_SCRIPTS = re.compile(f"([{_HAN}]+)|([{_OTHER_CJK}]+)")


def normalise(text: str) -> str:
    """NFKC, casefolded, accents stripped; anything but letters and digits becomes a space."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = unicodedata.normalize(
            "NFC",
            "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)),
        )
    return " ".join(_WORDS.findall(text))


def stem(word: str) -> str:
    """A light plural and suffix folding for prefix matching: both sides get the same."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 5:
        word = word[:-3] + "i"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3:
        if word.endswith("y"):
            word = word[:-1] + "i"
        elif word.endswith("e"):
            word = word[:-1]
    return word


def runs(text: str):
    """(kind, run) for each run of the normalised text: "han", "cjk" (kana, hangul), "word"."""
    for word in normalise(text).split():
        start = 0
        for match in _SCRIPTS.finditer(word):
            if match.start() > start:
                yield "word", word[start : match.start()]
            yield ("han" if match.group(1) else "cjk"), match.group(0)
            start = match.end()
        if start < len(word):
            yield "word", word[start:]


def grams(run: str) -> list[str]:
    """Each character and each overlapping pair, in reading order."""
    out = []
    for i, char in enumerate(run):
        out.append(char)
        if i + 1 < len(run):
            out.append(run[i : i + 2])
    return out


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] or [run]
