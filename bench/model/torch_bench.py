"""PyTorch CPU baseline for bench/model/main.ts: the same Llama-style architecture (RMSNorm, RoPE with rotate_half,
GQA, SwiGLU, tied head), the same batch shapes, Adam train steps and KV-cache sampling. Reads one JSON job from argv,
prints one JSON result. Run by main.ts through /usr/bin/python3 (Debian python3-torch + libopenblas0-pthread)."""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

job = json.loads(sys.argv[1])
torch.set_num_threads(job.get("threads", 1))
torch.manual_seed(0)
c = job["config"]
C, L, H, Hkv, D, I, V = (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                         c["num_key_value_heads"], c["head_dim"], c["intermediate_size"], c["vocab_size"])
eps, theta = c["rms_norm_eps"], c["rope_theta"]
g = H // Hkv


class RMSNorm(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight


def rotate_half(x):
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(pos):
    inv = 1.0 / (theta ** (torch.arange(0, D, 2).float() / D))
    f = pos[:, None].float() * inv[None, :]
    emb = torch.cat((f, f), dim=-1)
    return emb.cos(), emb.sin()


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm(C)
        self.q = torch.nn.Linear(C, H * D, bias=False)
        self.k = torch.nn.Linear(C, Hkv * D, bias=False)
        self.v = torch.nn.Linear(C, Hkv * D, bias=False)
        self.o = torch.nn.Linear(H * D, C, bias=False)
        self.post = RMSNorm(C)
        self.gate = torch.nn.Linear(C, I, bias=False)
        self.up = torch.nn.Linear(C, I, bias=False)
        self.down = torch.nn.Linear(I, C, bias=False)

    def forward(self, x, cos, sin, past=None):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q(h).view(B, T, H, D).transpose(1, 2)
        k = self.k(h).view(B, T, Hkv, D).transpose(1, 2)
        v = self.v(h).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        kk = k.repeat_interleave(g, dim=1)
        vv = v.repeat_interleave(g, dim=1)
        att = F.scaled_dot_product_attention(q, kk, vv, is_causal=past is None) if hasattr(F, "scaled_dot_product_attention") else None
        if att is None:
            s = q @ kk.transpose(-1, -2) / math.sqrt(D)
            if past is None:
                s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            att = s.softmax(-1) @ vv
        x = x + self.o(att.transpose(1, 2).reshape(B, T, H * D))
        h = self.post(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h)), (k, v)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(V, C)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(L)])
        self.norm = RMSNorm(C)
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids, start=0, past=None):
        T = ids.shape[1]
        cos, sin = rope(torch.arange(start, start + T))
        x = self.embed(ids)
        new = []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, cos, sin, None if past is None else past[i])
            new.append(kv)
        return self.norm(x) @ self.embed.weight.t(), new


model = Model()
out = {"torch": torch.__version__, "threads": torch.get_num_threads()}

tr = job["train"]
B, T = tr["batch"], tr["seq"]
ids = torch.randint(0, 256, (B, T))
tgt = torch.randint(0, 256, (B, T))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def step():
    logits, _ = model(ids)
    lp = logits.log_softmax(-1).gather(-1, tgt[..., None])[..., 0]
    loss = -lp.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


for _ in range(tr["warmup"]):
    step()
t0 = time.perf_counter()
for _ in range(tr["steps"]):
    step()
out["train_step_ms"] = (time.perf_counter() - t0) / tr["steps"] * 1000

gen = job["generate"]
out["sample_tokens_per_s"] = {}
with torch.no_grad():
    for Bs in gen["batches"]:
        prompt = torch.randint(0, 256, (1, gen["prompt"]))

        def run():
            caches, toks = [], []
            for _ in range(Bs):  # prefill each prompt, as the tfjs sampler does
                logits, kv = model(prompt)
                caches.append(kv)
                toks.append(torch.multinomial(logits[0, -1].softmax(-1), 1))
            past = [(torch.cat([c[i][0] for c in caches]), torch.cat([c[i][1] for c in caches])) for i in range(L)]
            tok = torch.stack(toks)  # [Bs, 1]
            pos = gen["prompt"]
            for _ in range(gen["new"] - 1):
                logits, past = model(tok, pos, past)
                tok = torch.multinomial(logits[:, -1].softmax(-1), 1)
                pos += 1

        run()
        t0 = time.perf_counter()
        run()
        out["sample_tokens_per_s"][str(Bs)] = Bs * gen["new"] / (time.perf_counter() - t0)
print(json.dumps(out))
