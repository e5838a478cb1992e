"""Joining tokens back into readable text (the rule used for TransRead's tokenised sentences)."""

from __future__ import annotations

import re

__all__ = ["detokenize"]

_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "…", "...", "n't"}
_NO_SPACE_AFTER = {"(", "[", "{", "¿", "¡"}
_FRENCH_SPACED = {";", ":", "!", "?"}  # French typography keeps a space before these
_QUOTES = {'"', "'"}


def _attaches_to_previous(tok: str, lang: str) -> bool:
    """Closing punctuation (French keeps a space before ``; : ! ?``) and English clitics."""
    if tok in _NO_SPACE_BEFORE:
        return not (lang == "fr" and tok in _FRENCH_SPACED)
    return lang == "en" and re.fullmatch(r"['’][a-zA-Z]{1,2}|n['’]t", tok) is not None


def detokenize(tokens: list[str], lang: str = "en") -> str:
    """Join tokens into readable text (the rule used for TransRead sentences).

    No space before closing punctuation (``, . ; : ! ? ) ] %``; in French ``; : ! ?`` keep
    their space) nor before English clitics (``'s``, ``n't``, ``'ll``...); no space after
    opening brackets nor after French elisions (``l'``, ``qu'``); straight quotes alternate
    between opening (no space after) and closing (no space before).

    >>> detokenize(["He", "said", ",", '"', "I", "'m", "here", '"', "."])
    'He said, "I\\'m here".'
    >>> detokenize(["Il", "dit", ":", "c'", "est", "l'", "heure", "!"], lang="fr")
    "Il dit : c'est l'heure !"
    """
    out: list[str] = []
    glue_next = False
    open_quote = {q: False for q in _QUOTES}
    for tok in tokens:
        space = bool(out) and not glue_next
        glue_next = False
        if tok in _QUOTES:
            if open_quote[tok]:
                space = False  # closing quote
            else:
                glue_next = True  # opening quote
            open_quote[tok] = not open_quote[tok]
        elif _attaches_to_previous(tok, lang):
            space = False
        if tok in _NO_SPACE_AFTER or (lang == "fr" and re.fullmatch(r"[^\W\d_]{1,7}['’]", tok)):
            glue_next = True
        if space:
            out.append(" ")
        out.append(tok)
    return "".join(out)
