"""Stand-ins for a killed batch run, shared by the batch tests (tests/test_batch*.py)."""

from __future__ import annotations


class Interrupted(Exception):
    """Stands for a killed run."""


class StopsAfter:
    """A pipeline that stops the run (like a kill) after ``n`` results."""

    def __init__(self, nlp, n: int) -> None:
        self.nlp, self.n = nlp, n

    def pipe(self, items, errors="raise"):
        for k, result in enumerate(self.nlp.pipe(items, errors=errors)):
            if k == self.n:
                raise Interrupted
            yield result
