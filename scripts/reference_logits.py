#!/usr/bin/env python3
"""Next-token logits of an rlax checkpoint computed independently with numpy, to compare with
`rlax inspect logits --checkpoint DIR --prompt STR --json`.

    python3 scripts/reference_logits.py --checkpoint DIR --prompt "12+34=" --rlax .build/release/rlax

Reads model.safetensors and model.json, implements docs/model.md in float64 numpy, tokenizes the
prompt with the ids rlax reports, and prints the largest absolute difference. Exit status 1 when
it exceeds --tolerance. Needs numpy and safetensors (pip install numpy safetensors).
"""
import argparse
import json
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file


def rmsnorm(x, scale, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * scale


def rope(x, positions, theta):
    # x [T, H, D], rotate-half pairs (i, i + D/2), angle pos * theta^(-2i/D)
    d = x.shape[-1]
    half = d // 2
    inv = theta ** (-2.0 * np.arange(half) / d)
    ang = positions[:, None, None] * inv[None, None, :]
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)


def forward(w, cfg, tokens):
    t = len(tokens)
    pos = np.arange(t, dtype=np.float64)
    a = cfg["layer"]["attention"]
    h, k, dh = a["numHeads"], a["numKVHeads"], a["headDim"]
    pe = cfg["positionEncoding"]
    x = w["embed.weight"][tokens]
    if pe["type"] == "LearnedPositions":
        x = x + w["positions.weight"][:t]
    eps, qk_eps = cfg["layer"]["norm"]["eps"], a["qkNorm"]["eps"]
    for l in range(cfg["numLayers"]):
        p = f"layers.{l}"
        y = rmsnorm(x, w[f"{p}.attn_norm.scale"], eps)
        q = (y @ w[f"{p}.attn.wq"]).reshape(t, h, dh)
        kk = (y @ w[f"{p}.attn.wk"]).reshape(t, k, dh)
        v = (y @ w[f"{p}.attn.wv"]).reshape(t, k, dh)
        if a["useQKNorm"]:
            q = rmsnorm(q, w[f"{p}.attn.q_norm.scale"], qk_eps)
            kk = rmsnorm(kk, w[f"{p}.attn.k_norm.scale"], qk_eps)
        if pe["type"] == "RoPE":
            q, kk = rope(q, pos, pe["theta"]), rope(kk, pos, pe["theta"])
        o = np.zeros((t, h, dh))
        for head in range(h):
            kv = head // (h // k)
            s = q[:, head, :] @ kk[:, kv, :].T / np.sqrt(dh)
            s = np.where(np.tril(np.ones((t, t))) > 0, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            o[:, head, :] = (s / s.sum(axis=1, keepdims=True)) @ v[:, kv, :]
        x = x + o.reshape(t, h * dh) @ w[f"{p}.attn.wo"]
        f = rmsnorm(x, w[f"{p}.ffn_norm.scale"], eps)
        g, u = f @ w[f"{p}.ffn.w_gate"], f @ w[f"{p}.ffn.w_up"]
        x = x + (g / (1 + np.exp(-g)) * u) @ w[f"{p}.ffn.w_down"]
    out = w["embed.weight"] if cfg["tiedEmbeddings"] else w["lm_head.weight"]
    return rmsnorm(x, w["final_norm.scale"], cfg["finalNorm"]["eps"]) @ out.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--rlax", default=".build/release/rlax")
    ap.add_argument("--tolerance", type=float, default=1e-3)
    args = ap.parse_args()
    got = json.loads(subprocess.run([args.rlax, "inspect", "logits", "--checkpoint", args.checkpoint,
                                     "--prompt", args.prompt, "--json"], check=True, capture_output=True, text=True).stdout)
    weights = {k: v.astype(np.float64) for k, v in load_file(f"{args.checkpoint}/model.safetensors").items()}
    with open(f"{args.checkpoint}/model.json") as f:
        cfg = json.load(f)
    want = forward(weights, cfg, np.array(got["tokens"]))[-1]
    diff = float(np.max(np.abs(np.array(got["logits"]) - want)))
    print(f"tokens {got['tokens']}: max |rlax - numpy| = {diff:.3g} over {len(want)} logits (scale {np.max(np.abs(want)):.3g})")
    sys.exit(0 if diff <= args.tolerance else 1)


if __name__ == "__main__":
    main()
