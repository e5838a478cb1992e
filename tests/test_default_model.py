"""The shipped default pipeline on real text (needs models/defence-v2-ner)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, default_model_available

pytestmark = pytest.mark.skipif(not default_model_available(), reason="models/defence-v2-ner is not in this checkout")

FR = (ROOT / "examples" / "texts" / "communique-camo-fr.txt").read_text(encoding="utf-8")
EN = (ROOT / "examples" / "texts" / "press-release-camo-en.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def nlp():
    import defnlp

    return defnlp.load(device="cpu")


def found(doc, text, label):
    return any(e.text == text and e.label == label for e in doc.entities)


def test_bundled_french_press_release(nlp):
    doc = nlp(FR)
    assert doc.lang == "fr"
    assert found(doc, "Sébastien Lecornu", "PER")
    assert found(doc, "Bruxelles", "LOC")
    assert any(e.label == "DOCUMENT" and "lettre d'intention" in e.text for e in doc.entities)
    assert any(e.label == "PLATFORM" and "Griffon" in e.text for e in doc.entities)
    assert all(doc.text[e.start : e.end] == e.text for e in doc.entities)


def test_bundled_english_press_release(nlp):
    doc = nlp(EN)
    assert doc.lang == "en"
    assert found(doc, "Sébastien Lecornu", "PER")
    assert any(e.label == "DOCUMENT" and "Letter of Intent" in e.text for e in doc.entities)
    assert any(e.label == "MONEY" and "1.5 billion" in e.text for e in doc.entities)


def test_no_entity_crosses_a_blank_line_on_the_layout_dev_set(nlp):
    """Real layouts (data/layout-dev): blank lines and layout blocks always end an entity; offsets stay exact."""
    from defnlp.doc import Doc
    from defnlp.io.markup import read_markup_files
    from defnlp.layout import blocks

    gold = read_markup_files([ROOT / "data" / "layout-dev"])
    crossing, entities = [], 0
    for doc in nlp.pipe(Doc(d.text, id=d.id, lang=d.lang) for d in gold):
        bounds = blocks(doc.text)
        for e in doc.entities:
            entities += 1
            assert doc.text[e.start : e.end] == e.text
            inside = any(a <= e.start and e.end <= b for a, b in bounds)
            if "\n\n" in e.text.replace("\r", "") or not inside:
                crossing.append((doc.id, e.text))
    assert entities > 2000 and crossing == []


def test_default_pipeline_loads_offline(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = "import defnlp; d = defnlp.load()('La DGA a commandé des Griffon.'); print(len(d.entities))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 1


@pytest.mark.slow
def test_200k_character_document_with_the_default_model(nlp):
    paragraphs = [FR, EN]
    text = ""
    i = 0
    while len(text) < 200_000:
        text += paragraphs[i % 2] + "\n\n"
        i += 1
    text = text[:200_000]
    doc = nlp(text)
    assert len(doc.text) == 200_000
    assert all(doc.text[e.start : e.end] == e.text for e in doc.entities)
    # the last complete copy of the French text is annotated like the first one
    assert max(e.end for e in doc.entities) > 195_000
    assert sum(e.text == "Sébastien Lecornu" for e in doc.entities) >= i - 2
