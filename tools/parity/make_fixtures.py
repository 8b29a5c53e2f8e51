#!/usr/bin/env python3
"""Parity fixtures for Tracetune's model import path (see docs/model.md, "Parity with transformers").

Builds every model listed in tools/parity/manifest.json with transformers (random init, fixed seeds), saves each as a
Hugging Face folder in float32 and bfloat16 with a small byte-level BPE tokenizer (trained here on a fixed text, so
nothing is downloaded), and records what transformers computes from the saved folder:

  fixtures/<name>/<dtype>/   config.json, model.safetensors, tokenizer.json, tokenizer_config.json, ...
                             expected.json      prompt, its token ids, the 16-token greedy continuation, the margin
                                                between the best and second-best logit at each greedy step, versions
                             logits.safetensors "logits": [T, vocab] float32, every position of the prompt

Reference logits are always computed in float32 (the bfloat16 folder is loaded with torch_dtype=float32), so both
folders are compared at the same tolerance. Needs torch, transformers, tokenizers, safetensors; no GPU.

    python3 tools/parity/make_fixtures.py [--out tools/parity/fixtures]
"""
import argparse
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Tracetune fine-tunes language models with reinforcement learning.",
    "What is 12+7? The answer is 19. What is 3*4? The answer is 12.",
    "She sells sea shells by the sea shore; the shells she sells are sea shells.",
    "def add(a, b):\n    return a + b\n",
] * 20


def build_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", clean_up_tokenization_spaces=False
    )
    fast.chat_template = CHATML
    assert len(fast) <= vocab_size, (len(fast), vocab_size)
    return fast


def greedy(model, ids, steps):
    seq = list(ids)
    tokens, margins = [], []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([seq])).logits[0, -1].float()
            top = torch.topk(logits, 2)
            tokens.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(tokens[-1])
    return tokens, margins


def build(entry, manifest, tokenizer, out_root, seed):
    raw = dict(entry["config"])
    raw["vocab_size"] = manifest["vocab_size"]
    raw["initializer_range"] = 0.2  # larger than HF's 0.02, so greedy steps are not near-ties
    raw["eos_token_id"] = tokenizer.convert_tokens_to_ids("<|im_end|>")
    raw["pad_token_id"] = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    raw["bos_token_id"] = None
    config = AutoConfig.for_model(**raw)
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    ids = tokenizer(manifest["prompt"], add_special_tokens=False)["input_ids"]
    for dtype in manifest["dtypes"]:
        folder = os.path.join(out_root, entry["name"], dtype)
        shutil.rmtree(folder, ignore_errors=True)
        model.to(getattr(torch, dtype)).save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        # The reference: what transformers computes from the saved folder, in float32.
        loaded = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
        loaded.eval()
        with torch.no_grad():
            logits = loaded(torch.tensor([ids])).logits[0].float().contiguous()
        tokens, margins = greedy(loaded, ids, manifest["new_tokens"])
        save_file({"logits": logits}, os.path.join(folder, "logits.safetensors"), metadata={"format": "pt"})
        expected = {
            "name": entry["name"],
            "dtype": dtype,
            "prompt": manifest["prompt"],
            "input_ids": ids,
            "greedy": tokens,
            "greedy_margins": margins,
            "seed": seed,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
        }
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f, indent=2)
        print(f"{entry['name']}/{dtype}: {len(ids)} ids, greedy {tokens}, min margin {min(margins):.4f}")
    model.to(torch.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    args = parser.parse_args()
    with open(os.path.join(HERE, "manifest.json")) as f:
        manifest = json.load(f)
    torch.set_num_threads(1)
    tokenizer = build_tokenizer(manifest["vocab_size"])
    for i, entry in enumerate(manifest["fixtures"]):
        build(entry, manifest, tokenizer, args.out, 1000 + i)
    total = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(args.out) for f in files
    )
    print(f"fixtures: {total / 1e6:.2f} MB under {args.out} (transformers {transformers.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
