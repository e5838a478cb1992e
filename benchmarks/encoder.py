"""Forward-pass throughput of the default encoder on CPU (or GPU), batch sizes 1/8/32.

    python benchmarks/encoder.py [--encoder multilingual-e5-small] [--seq-len 128] [--device cpu]

Prints a table and writes benchmarks/results/encoder.json. The same run measures the fp32
matmul ceiling of the machine (2048×2048) so that tokens/s can be read as a fraction of what
the hardware allows: an encoder token costs about 2 × (non-embedding parameters) FLOPs plus
attention, i.e. ≈ 42.5 MFLOP for multilingual-e5-small at 128 tokens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, matmul_gflops, save, table  # noqa: E402

from defnlp.encoders import load_encoder  # noqa: E402

TEXT = (
    "Le ministre des Armées a signé à Bruxelles une lettre d'intention avec son homologue belge sur le "
    "programme CaMo, qui prévoit la livraison de 382 VBMR Griffon et de 60 EBRC Jaguar à la composante "
    "terre belge d'ici 2030. The Minister of Defence announced that the DGA had ordered 42 Caesar guns "
    "from KNDS France for the Ukrainian armed forces, with deliveries starting in early 2025. "
) * 8


def flops_per_token(model, seq_len: int) -> float:
    cfg = model.config
    h, layers, ffn = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    dense = layers * (4 * h * h + 2 * h * ffn)  # multiply-adds per token in the linear layers
    attention = layers * 2 * seq_len * h  # QK^T and attention·V per token
    return 2.0 * (dense + attention)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    enc = load_encoder(args.encoder)
    model = enc.model.to(args.device).eval()
    ids = enc.tokenizer(TEXT, add_special_tokens=True, truncation=True, max_length=args.seq_len, return_tensors="pt")["input_ids"]
    assert ids.shape[1] == args.seq_len, "sample text too short for the sequence length"
    gflops = matmul_gflops() if args.device == "cpu" else None
    fpt = flops_per_token(model, args.seq_len)
    rows = []
    for bs in [int(x) for x in args.batch_sizes.split(",")]:
        batch = ids.repeat(bs, 1).to(args.device)
        mask = torch.ones_like(batch)

        def forward() -> None:
            with torch.inference_mode():
                model(input_ids=batch, attention_mask=mask)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()

        seconds = best_time(forward, repeats=args.repeats)
        tokens = bs * args.seq_len
        row = {"batch_size": bs, "seq_len": args.seq_len, "seconds": round(seconds, 4), "tokens_per_s": tokens / seconds,
               "sequences_per_s": bs / seconds, "gflops_achieved": tokens * fpt / seconds / 1e9}
        if gflops:
            row["fraction_of_matmul_peak"] = row["gflops_achieved"] / gflops
        rows.append(row)
    cols = ["batch_size", "seq_len", "tokens_per_s", "sequences_per_s", "gflops_achieved"] + (["fraction_of_matmul_peak"] if gflops else [])
    print(table(rows, cols, title=f"encoder {enc.info.name} on {args.device} (fp32)"))
    if gflops:
        print(f"\nmatmul 2048x2048 fp32: {gflops:.1f} GFLOP/s  ->  ceiling ≈ {gflops * 1e9 / fpt:,.0f} tokens/s "
              f"at {fpt / 1e6:.1f} MFLOP/token")
    path = save("encoder", {"encoder": enc.info.to_dict(), "device": args.device, "flops_per_token": fpt,
                            "matmul_gflops": gflops, "rows": rows})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
