"""Training examples see the text inference sees (the model view), with gold tags on the right units."""

from defnlp.doc import Doc, Entity
from defnlp.layout import model_view
from defnlp.tags import TagSet
from defnlp.training.data import encode_doc


def test_encode_doc_tokenizes_the_model_view_and_tags_the_joined_word(tiny_encoder):
    tok = tiny_encoder.tokenizer
    tagset = TagSet(["ORG", "PLATFORM"])
    text = "La DGA a commandé des blin-\r\n  dés Griffon à KNDS.\nContact : presse@dga.fr"
    start = text.index("blin")
    end = text.index("dés") + 3
    doc = Doc(text, entities=[Entity(3, 6, "ORG", "DGA"), Entity(start, end, "PLATFORM", text[start:end]),
                              Entity(text.index("Griffon"), text.index("Griffon") + 7, "PLATFORM", "Griffon")])
    (ex,) = encode_doc(doc, tok, tagset, max_tokens=128)
    view, _ = model_view(text)
    assert "blindés" in view
    ids = tok(view, add_special_tokens=False)["input_ids"]
    assert ex["input_ids"] == [tok.cls_token_id] + ids + [tok.sep_token_id]
    # the head token of "blindés" carries B-PLATFORM; its other tokens are not supervised
    enc = tok(view, add_special_tokens=False, return_offsets_mapping=True)
    tags = ex["tags"][1:-1]
    head = next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and view[a:b].strip() and view.index("blindés") < b)
    assert tags[head] == tagset.begin_id("PLATFORM")
    rest = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if view.index("blindés") < a < view.index("blindés") + 7]
    assert all(tags[i] == -100 for i in rest)
    griffon = next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if view[a:b].strip().startswith("Gri"))
    assert tags[griffon] == tagset.begin_id("PLATFORM")


def test_encode_doc_without_hyphens_is_unchanged(tiny_encoder):
    tok = tiny_encoder.tokenizer
    tagset = TagSet(["ORG"])
    text = "La DGA a commandé 42 Griffon à KNDS."
    (ex,) = encode_doc(Doc(text, entities=[Entity(3, 6, "ORG", "DGA")]), tok, tagset, max_tokens=128)
    assert ex["input_ids"][1:-1] == tok(text, add_special_tokens=False)["input_ids"]
    assert tagset.begin_id("ORG") in ex["tags"]
