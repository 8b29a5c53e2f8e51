#!/usr/bin/env python3
"""Round trip of Tracetune's exports through transformers and peft (see docs/model.md, "Parity with transformers").

tools/parity/roundtrip/ holds what Tracetune writes and downloads (tools/parity/make-roundtrip.ts builds it):
  base/          the base model (HF folder)
  full/          a full fine-tune of it (HF folder)
  lora/          a LoRA run: merged weights (HF folder) plus adapter/ in PEFT layout
  tracetune.json the input ids, and for each folder the logits Tracetune computed at export (<folder>/tracetune_logits.safetensors)

This script loads full/ and lora/ with transformers, applies lora/adapter/ to base/ with peft
(PeftModel.from_pretrained), and compares each with Tracetune's logits. It writes roundtrip/report.json (commit it)
and exits non-zero if a check fails. Without peft installed the adapter check is marked "skipped".

    python3 tools/parity/check_roundtrip.py
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roundtrip")
TOLERANCE = 1e-4


def load(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def compare(name, model, ids, expected_file):
    expected = load_file(expected_file)["logits"]
    with torch.no_grad():
        got = model(torch.tensor([ids])).logits[0].float()
    scale = expected.abs().max().item()
    err = (got - expected).abs().max().item() / scale
    ok = err <= TOLERANCE
    print(f"{name}: max relative error {err:.2e} ({'ok' if ok else 'FAIL'})")
    return {"check": name, "max_relative_error": err, "tolerance": TOLERANCE, "ok": ok}


def main():
    with open(os.path.join(HERE, "tracetune.json")) as f:
        meta = json.load(f)
    ids = meta["input_ids"]
    results = []
    for folder in ("full", "lora"):
        path = os.path.join(HERE, folder)
        results.append(compare(f"{folder} (transformers)", load(path), ids, os.path.join(path, "tracetune_logits.safetensors")))
    try:
        import peft

        adapted = peft.PeftModel.from_pretrained(load(os.path.join(HERE, "base")), os.path.join(HERE, "lora", "adapter"))
        results.append(
            compare(
                f"base + lora/adapter (peft {peft.__version__})",
                adapted.eval(),
                ids,
                os.path.join(HERE, "lora", "tracetune_logits.safetensors"),
            )
        )
    except ImportError:
        results.append({"check": "base + lora/adapter (peft)", "ok": None, "skipped": "peft is not installed"})
    report = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "results": results,
    }
    with open(os.path.join(HERE, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    return 0 if all(r["ok"] is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
