"""``python -m defnlp``: the ``defnlp`` command (:func:`defnlp.cli.main`), e.g. ``python -m defnlp annotate doc.txt``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
