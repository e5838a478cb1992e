"""defnlp.training.frozen_prefix: the cached lower layers + the upper layers give the encoder's own output."""
import pytest
import torch
from datasets import Dataset

from defnlp.errors import ConfigError
from defnlp.training.frozen_prefix import FrozenPrefix

TEXTS = ["Le Rafale de Dassault Aviation a volé à Mont-de-Marsan.", "The Army will receive 150 Boxer vehicles.", "OTAN"]


def test_cached_prefix_then_top_layers_equal_the_whole_encoder(tiny_encoder):
    model, tokenizer = tiny_encoder.model.eval(), tiny_encoder.tokenizer
    rows = [tokenizer(t)["input_ids"] for t in TEXTS]
    prefix = FrozenPrefix(model, 1, tokenizer.pad_token_id)
    cached = prefix.cache(Dataset.from_dict({"input_ids": rows}), batch_tokens=16)  # as windows_dataset gives them
    assert [c.shape[0] for c in cached] == [len(r) for r in rows] and cached[0].dtype == torch.float16

    assert model.training  # cache() hands the encoder back in training mode (dropout on) ...
    model.eval()  # ... off here, to compare numbers
    hidden = prefix.stack(cached)  # padded to the longest window
    mask = torch.zeros(hidden.shape[:2], dtype=torch.long)
    for i, r in enumerate(rows):
        mask[i, : len(r)] = 1
    with torch.inference_mode():
        top = prefix.top(hidden, mask)
        for i, r in enumerate(rows):
            whole = model(input_ids=torch.tensor([r])).last_hidden_state[0]
            # the cache is stored in fp16: agreement to its precision, not bit for bit
            assert torch.allclose(top[i, : len(r)], whole, atol=2e-2), TEXTS[i]


def test_an_encoder_without_bert_layers_is_a_config_error():
    with pytest.raises(ConfigError, match="BERT-style"):
        FrozenPrefix(torch.nn.Linear(2, 2), 1, 0)
