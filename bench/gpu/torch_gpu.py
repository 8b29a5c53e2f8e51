"""PyTorch fp32 eager baseline for bench/gpu (docs/gpu.md): the same Llama/Qwen2 architecture as libs/model (RMSNorm,
RoPE with rotate_half, GQA, SwiGLU, q/k/v biases for Qwen2, tied head), the same shapes, train steps (forward +
backward + AdamW, full and LoRA r=16 on every projection) and KV-cache decode at batch 1 and 32. CUDA when available,
else the CPU (a check of the script only). Usage: python3 torch_gpu.py SHAPES.json OUT.json
(SHAPES.json: `main.ts --dump-shapes`)."""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

shapes = json.load(open(sys.argv[1]))
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False  # fp32, as tfjs computes
torch.backends.cudnn.allow_tf32 = False
LORA_R, LORA_ALPHA = 16, 32


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


class Lin(torch.nn.Module):
    def __init__(self, i, o, bias=False):
        super().__init__()
        self.base = torch.nn.Linear(i, o, bias=bias)
        self.a = self.b = None

    def add_lora(self):
        i, o = self.base.in_features, self.base.out_features
        self.a = torch.nn.Parameter(torch.empty(i, LORA_R).uniform_(-1 / math.sqrt(i), 1 / math.sqrt(i)))
        self.b = torch.nn.Parameter(torch.zeros(LORA_R, o))

    def forward(self, x):
        y = self.base(x)
        return y if self.a is None else y + (x @ self.a @ self.b) * (LORA_ALPHA / LORA_R)


def attend(q, k, v, causal):
    if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0 (the GPU machine's)
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        T = q.shape[-2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return s.softmax(-1) @ v


def build(c):
    C, H, Hkv, D, I, V = (c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"],
                          c["intermediate_size"], c["vocab_size"])
    eps, theta, g, bias = c["rms_norm_eps"], c["rope_theta"], H // Hkv, bool(c.get("attention_bias"))

    class Norm(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(n))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.w

    def rot(x):
        return torch.cat((-x[..., D // 2:], x[..., : D // 2]), -1)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = Norm(C), Norm(C)
            self.q, self.k, self.v = Lin(C, H * D, bias), Lin(C, Hkv * D, bias), Lin(C, Hkv * D, bias)
            self.o, self.gate, self.up, self.down = Lin(H * D, C), Lin(C, I), Lin(C, I), Lin(I, C)

        def forward(self, x, cos, sin, past):
            B, T, _ = x.shape
            h = self.n1(x)
            q = self.q(h).view(B, T, H, D).transpose(1, 2)
            k = self.k(h).view(B, T, Hkv, D).transpose(1, 2)
            v = self.v(h).view(B, T, Hkv, D).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            if past is not None:
                k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
            a = attend(q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), past is None)
            x = x + self.o(a.transpose(1, 2).reshape(B, T, H * D))
            h = self.n2(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h)), (k, v)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, C)
            self.layers = torch.nn.ModuleList([Layer() for _ in range(c["num_hidden_layers"])])
            self.norm = Norm(C)
            self.head = None if c.get("tie_word_embeddings") else torch.nn.Linear(C, V, bias=False)
            for p in self.parameters():
                if p.dim() > 1:
                    torch.nn.init.normal_(p, std=0.02)

        def forward(self, ids, start=0, past=None):
            T = ids.shape[1]
            inv = 1.0 / (theta ** (torch.arange(0, D, 2, device=dev).float() / D))
            f = torch.arange(start, start + T, device=dev).float()[:, None] * inv[None]
            emb = torch.cat((f, f), -1)
            cos, sin = emb.cos(), emb.sin()
            x, new = self.embed(ids), []
            for i, layer in enumerate(self.layers):
                x, kv = layer(x, cos, sin, None if past is None else past[i])
                new.append(kv)
            x = self.norm(x)
            return (x @ self.embed.weight.t() if self.head is None else self.head(x)), new

    return Model().to(dev)


def median(xs):
    return sorted(xs)[len(xs) // 2]


def train_ms(model, s, lora, runs):
    if lora:
        for p in model.parameters():
            p.requires_grad_(False)
        for m in model.modules():
            if isinstance(m, Lin):
                m.add_lora()
        model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)
    B, T = s["train"]["batch"], s["train"]["seq"]
    V = s["config"]["vocab_size"]
    ids, tgt = torch.randint(0, V, (B, T), device=dev), torch.randint(0, V, (B, T), device=dev)

    def step():
        logits, _ = model(ids)
        loss = -logits.log_softmax(-1).gather(-1, tgt[..., None]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()

    step()
    times = []
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


@torch.no_grad()
def decode_rate(model, s, batch):
    """`tokens` decode steps with the KV cache after a batched prefill (not timed), greedy, as bench/gpu/measure.ts."""
    V, P, N = s["config"]["vocab_size"], s["decode"]["prompt"], s["decode"]["tokens"]
    prompts = torch.randint(0, V, (batch, P), device=dev)

    def run(n):
        logits, past = model(prompts)
        tok = logits[:, -1].argmax(-1, keepdim=True)
        sync()
        t0 = time.perf_counter()
        for i in range(n):
            logits, past = model(tok, P + i, past)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            tok.cpu()  # the host reads every step's tokens, as the tfjs sampler does
        sync()
        return time.perf_counter() - t0

    run(2)
    return batch * N / run(N)


rows = []
for s in shapes:
    for mode in ("full", "lora"):
        torch.manual_seed(0)
        model = build(s["config"])
        row = {"model": s["name"], "mode": mode, "train_step_ms": None, "decode_tokens_per_s": {}}
        if mode == "full":
            row["decode_tokens_per_s"] = {str(b): decode_rate(model, s, b) for b in (1, 32)}
        row["train_step_ms"] = train_ms(model, s, mode == "lora", 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
json.dump({"runner": f"torch-{dev.type}", "device": f"{name}, torch {torch.__version__}, fp32 eager", "rows": rows},
          open(sys.argv[2], "w"), indent=1)
