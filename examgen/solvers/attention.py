"""Attention and transformers (issue 15): scaled dot-product attention by hand, the parameters
of a transformer encoder layer, multi-head attention shapes and costs, sinusoidal positional
encodings and RoPE, word2vec skip-gram with negative sampling.

Conventions: PyTorch's (F.scaled_dot_product_attention, nn.TransformerEncoderLayer with biases
and post-norm, nn.MultiheadAttention); natural logarithm; angles in radians. Every elementary
function comes from examgen.solvers.elementary (the statements print its values)."""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from ..errors import ParamError
from ..values import is_int, is_matrix, is_number, is_vector
from . import elementary

Params = dict[str, Any]


def _int_param(p: Params, name: str, low: int, high: int) -> int:
    v: Any = p.get(name)
    if not is_int(v) or not low <= int(v) <= high:
        raise ParamError(name, f"expected an integer from {low} to {high}, got {v!r}")
    return int(v)


def _matrix(p: Params, name: str, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    m = p.get(name)
    if not is_matrix(m):
        raise ParamError(name, f"expected a matrix (a list of rows of numbers), got {m!r}")
    a = np.asarray(m, dtype=float)
    if not (rows[0] <= a.shape[0] <= rows[1] and cols[0] <= a.shape[1] <= cols[1]):
        raise ParamError(name, f"expected {rows[0]} to {rows[1]} rows and {cols[0]} to {cols[1]} columns, "
                         f"got {a.shape[0]} x {a.shape[1]}")
    if np.max(np.abs(a)) > 20:
        raise ParamError(name, "entries must be at most 20 in magnitude")
    return a


def _vector(p: Params, name: str, length: int, bound: float = 20) -> np.ndarray:
    v: Any = p.get(name)
    if not is_vector(v) or len(v) != length:
        raise ParamError(name, f"expected a vector of {length} numbers, got {v!r}")
    a = np.asarray(v, dtype=float)
    if np.max(np.abs(a)) > bound:
        raise ParamError(name, f"entries must be at most {bound:g} in magnitude")
    return a


# ====================================================================== attention_scores
SQUARES = (1, 4, 9, 16)  # d with an exact sqrt(d): the scale stays hand-computable


def check_attention_scores(p: Params) -> None:
    q = _matrix(p, "Q", (1, 6), (1, 16))
    k = _matrix(p, "K", (1, 6), (1, 16))
    v = _matrix(p, "V", (1, 6), (1, 6))
    if k.shape != q.shape:
        raise ParamError("K", f"expected the shape of Q ({q.shape[0]} x {q.shape[1]}), got {k.shape[0]} x {k.shape[1]}")
    if q.shape[1] not in SQUARES:
        raise ParamError("Q", f"expected d = 1, 4, 9 or 16 columns (sqrt(d) exact), got {q.shape[1]}")
    if v.shape[0] != q.shape[0]:
        raise ParamError("V", f"expected {q.shape[0]} rows (one per key), got {v.shape[0]}")
    if not isinstance(p.get("causal"), bool):
        raise ParamError("causal", f"expected true or false, got {p.get('causal')!r}")


def _allowed(t: int, causal: bool) -> np.ndarray:
    """allowed[i, j]: query i may attend to key j (j <= i when causal)."""
    return np.tril(np.ones((t, t), dtype=bool)) if causal else np.ones((t, t), dtype=bool)


def attention_scores(p: Params) -> Params:
    """S = Q K^T / sqrt(d); row-softmax over the allowed keys (shifted by the row maximum, so the
    table prints e^(s - max) <= 1), masked weights 0; output = weights V."""
    q, k, v = (np.asarray(p[n], dtype=float) for n in ("Q", "K", "V"))
    t, d = q.shape
    sqrt_d = float(elementary.sqrt(d))
    scores = q @ k.T / sqrt_d
    allowed = _allowed(t, bool(p["causal"]))
    row_max = np.array([scores[i][allowed[i]].max() for i in range(t)])
    shifted = np.where(allowed, scores - row_max[:, None], 0.0)
    e = np.where(allowed, elementary.exp(shifted), 0.0)
    sums = e.sum(axis=1)
    weights = e / sums[:, None]
    return {"scores": scores, "sqrt_d": sqrt_d, "d": d, "T": t, "row_max": row_max, "exp_shifted": e,
            "exp_sums": sums, "weights": weights, "output": weights @ v,
            "exp_args": sorted({float(x) for x in shifted[allowed] if x != 0})}


def sample_attention_scores(rng: np.random.Generator, pinned: Params) -> Params:
    """T = 3 tokens, d = 4, d_v = 2; Q, K entries in {-1, 0, 1} (scores are halves in [-2, 2]),
    V entries in -3..3; causal half of the time."""
    t = len(pinned["Q"]) if is_matrix(pinned.get("Q")) else 3
    d = len(pinned["Q"][0]) if is_matrix(pinned.get("Q")) else 4
    return {"Q": rng.integers(-1, 2, size=(t, d)).tolist(), "K": rng.integers(-1, 2, size=(t, d)).tolist(),
            "V": rng.integers(-3, 4, size=(t, 2)).tolist(), "causal": bool(rng.random() < 0.5)}


def attention_rows_not_uniform(p: Params) -> bool:
    """every query with two or more allowed keys gives them different scores (no uniform row)"""
    return not attention_uniform_row(p, attention_scores(p))


def attention_uniform_row(p: Params, a: Params) -> bool:
    """degenerate: some query gives all its allowed keys (two or more) the same score: a uniform softmax"""
    s = np.asarray(a["scores"])
    allowed = _allowed(len(s), bool(p["causal"]))
    return any(allowed[i].sum() > 1 and np.ptp(s[i][allowed[i]]) == 0 for i in range(len(s)))


def attention_hand_sized(p: Params) -> bool:
    """the scores of a row differ by at most 3 (the exp table stays short), some row by at least 1.5,
    no two rows of weights are equal and V is not all zero"""
    a = attention_scores(p)
    rows = {tuple(r) for r in np.round(np.asarray(a["weights"]), 9).tolist()}
    return bool(min(a["exp_args"], default=0) >= -3 and min(a["exp_args"], default=0) <= -1.5
                and len(rows) == len(a["weights"]) and np.any(np.asarray(p["V"]) != 0))


# ====================================================================== transformer_block_params
D_MODELS = (16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)
HEADS = (1, 2, 3, 4, 6, 8)
FF_RATIOS = (2, 3, 4)


def transformer_space() -> list[tuple[int, int, int]]:
    """(d_model, n_heads, d_ff) of the draws: heads dividing d_model into heads of at least 4."""
    return [(d, h, r * d) for d, h, r in product(D_MODELS, HEADS, FF_RATIOS) if d % h == 0 and d // h >= 4]


def check_transformer_block_params(p: Params) -> None:
    d = _int_param(p, "d_model", 1, 100_000)
    h = _int_param(p, "n_heads", 1, 1024)
    _int_param(p, "d_ff", 1, 1_000_000)
    if d % h:
        raise ParamError("n_heads", f"expected a divisor of d_model = {d}, got {h}")


def transformer_block_params(p: Params) -> Params:
    """nn.TransformerEncoderLayer(d_model, n_heads, d_ff) (bias on, post-norm): self-attention
    W_Q, W_K, W_V, W_O (d x d) with biases; linear1 (d_ff x d + d_ff), linear2 (d x d_ff + d);
    two layer norms with gamma and beta (d each)."""
    d, h, f = int(p["d_model"]), int(p["n_heads"]), int(p["d_ff"])
    attn = 4 * d * d + 4 * d
    ffn = 2 * d * f + f + d
    norm = 2 * d
    return {"attn_params": attn, "attn_weights": 4 * d * d, "attn_biases": 4 * d,
            "ffn_params": ffn, "ffn_1": d * f + f, "ffn_2": f * d + d,
            "norm_params": 2 * norm, "one_norm": norm, "block_params": attn + ffn + 2 * norm,
            "head_dim": d // h, "head_shape": [d, d // h]}


def sample_transformer_block_params(rng: np.random.Generator, pinned: Params) -> Params:
    space = transformer_space()
    d, h, f = space[int(rng.integers(len(space)))]
    return {"d_model": d, "n_heads": h, "d_ff": f}


# ====================================================================== mha_shapes
MHA_B = (1, 2, 4, 8, 16, 32)
MHA_T = (8, 10, 16, 20, 32, 50, 64, 100, 128)
MHA_D = (32, 64, 128, 256, 512)
MHA_H = (2, 4, 8)


def mha_space() -> list[tuple[int, int, int, int]]:
    """(B, T, d_model, h) of the draws: heads of at least 8 dimensions."""
    return [c for c in product(MHA_B, MHA_T, MHA_D, MHA_H) if c[2] // c[3] >= 8]


def check_mha_shapes(p: Params) -> None:
    _int_param(p, "B", 1, 100_000)
    _int_param(p, "T", 1, 100_000)
    d = _int_param(p, "d_model", 1, 100_000)
    h = _int_param(p, "h", 1, 1024)
    if d % h:
        raise ParamError("h", f"expected a divisor of d_model = {d}, got {h}")


def mha_shapes(p: Params) -> Params:
    """nn.MultiheadAttention(d_model, h, batch_first=True) on x of shape (B, T, d_model):
    per-head Q, K, V (B, h, T, d_k); attention weights (B, h, T, T); 4 d^2 + 4 d parameters;
    Q K^T costs B h T T d_k = B T^2 d multiply-adds, weights times V as many; the four
    projections 4 B T d^2."""
    b, t, d, h = (int(p[n]) for n in ("B", "T", "d_model", "h"))
    dk = d // h
    return {"d_k": dk, "qkv_shape": [b, h, t, dk], "attn_shape": [b, h, t, t],
            "mha_params": 4 * d * d + 4 * d, "macs_qk": b * h * t * t * dk, "macs_av": b * h * t * t * dk,
            "macs_proj": 4 * b * t * d * d, "one_qk": t * t * dk}


def sample_mha_shapes(rng: np.random.Generator, pinned: Params) -> Params:
    space = mha_space()
    b, t, d, h = space[int(rng.integers(len(space)))]
    return {"B": b, "T": t, "d_model": d, "h": h}


# ====================================================================== positional_encoding
PE_BASE = 10000


def check_positional_encoding(p: Params) -> None:
    d = _int_param(p, "d_model", 2, 16)
    if d % 2:
        raise ParamError("d_model", f"expected an even number (sin/cos pairs), got {d}")
    _int_param(p, "pos", 0, 10_000)
    _vector(p, "q", 2)
    _vector(p, "k", 2)
    _int_param(p, "m", 0, 100)
    _int_param(p, "n", 0, 100)
    theta: Any = p.get("theta")
    if not is_number(theta) or not 0 < float(theta) <= 3.2:
        raise ParamError("theta", f"expected an angle in (0, 3.2] (radians), got {theta!r}")


def _rot(angle: float, x: np.ndarray) -> np.ndarray:
    c, s = float(elementary.cos(angle)), float(elementary.sin(angle))
    return np.array([c * x[0] - s * x[1], s * x[0] + c * x[1]])


def positional_encoding(p: Params) -> Params:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...) (Vaswani et al.);
    RoPE rotates a 2-vector at position m by the angle m theta; the dot product of a rotated
    query (position m) and key (position n) is q . R((n - m) theta) k."""
    d, pos = int(p["d_model"]), int(p["pos"])
    freqs = [float(PE_BASE ** (-2 * i / d)) for i in range(d // 2)]
    angles = [pos * f for f in freqs]
    pe: list[float] = []
    for a in angles:
        pe += [float(elementary.sin(a)), float(elementary.cos(a))]
    q, k = np.asarray(p["q"], dtype=float), np.asarray(p["k"], dtype=float)
    m, n, theta = int(p["m"]), int(p["n"]), float(p["theta"])
    am, an, arel = m * theta, n * theta, (n - m) * theta
    rq, rk, rel = _rot(am, q), _rot(an, k), _rot(arel, k)
    return {"freqs": freqs, "angles": angles, "pe": pe, "angle_m": am, "angle_n": an, "angle_rel": arel,
            "rq": rq, "rk": rk, "dot": float(rq @ rk), "rel_k": rel, "dot_rel": float(q @ rel),
            "dot_plain": float(q @ k), "trig_args": sorted({am, an, arel} - {0.0})}


def sample_positional_encoding(rng: np.random.Generator, pinned: Params) -> Params:
    """d_model 4 or 8 (frequencies 10^-j), pos 1..20; integer q, k in -3..3; 0 <= m < n <= 6,
    theta one decimal in [0.2, 0.6]."""
    m = int(rng.integers(0, 6))
    return {"d_model": int(rng.choice([4, 8])), "pos": int(rng.integers(1, 21)),
            "q": rng.integers(-3, 4, size=2).tolist(), "k": rng.integers(-3, 4, size=2).tolist(),
            "m": m, "n": int(rng.integers(m + 1, 7)), "theta": round(float(rng.integers(2, 7)) / 10, 1)}


def pe_vectors_nonzero(p: Params) -> bool:
    """q and k are not zero vectors and q . k is not 0 (the dot products say something)"""
    q, k = np.asarray(p["q"], dtype=float), np.asarray(p["k"], dtype=float)
    return bool(np.any(q != 0) and np.any(k != 0) and q @ k != 0)


def pe_same_position(p: Params, a: Params) -> bool:
    """degenerate: m = n, the rotation cancels and the relative property shows nothing"""
    return int(p["m"]) == int(p["n"])


# ====================================================================== word2vec_skipgram
SENTENCES = (
    "a cat sat on the mat", "deep networks learn useful features", "we train the model with sgd",
    "attention lets every token see the others", "a small dog chased the red ball",
    "students solve exam problems by hand", "the quick brown fox jumps high",
    "word vectors capture meaning from context", "she reads long books every night",
    "rain fell on the quiet town",
)


def check_word2vec_skipgram(p: Params) -> None:
    words = p.get("words")
    if (not isinstance(words, list) or not 2 <= len(words) <= 12
            or not all(isinstance(w, str) and w.isalpha() and w.isascii() for w in words)):
        raise ParamError("words", f"expected a list of 2 to 12 words of letters a-z, got {words!r}")
    _int_param(p, "window", 1, len(words) - 1)
    _int_param(p, "center", 0, len(words) - 1)
    v = _vector(p, "v_c", len(p["v_c"]) if is_vector(p.get("v_c")) else 0, 5)
    if not 1 <= len(v) <= 4:
        raise ParamError("v_c", f"expected 1 to 4 entries, got {len(v)}")
    _vector(p, "u_o", len(v), 5)
    u: Any = p.get("u_neg")
    if not is_matrix(u) or not 1 <= len(u) <= 5 or len(u[0]) != len(v):
        raise ParamError("u_neg", f"expected 1 to 5 rows of {len(v)} numbers (one per negative sample), got {u!r}")
    if np.max(np.abs(np.asarray(u, dtype=float))) > 5:
        raise ParamError("u_neg", "entries must be at most 5 in magnitude")


def skipgram_pairs(words: list[str], window: int) -> list[list[str]]:
    """(center, context) for every position and every other position within the window."""
    n = len(words)
    return [[words[i], words[j]] for i in range(n)
            for j in range(max(0, i - window), min(n, i + window + 1)) if j != i]


def word2vec_skipgram(p: Params) -> Params:
    """Skip-gram pairs of the sentence; for the pair (v_c, u_o) with negatives u_k:
    L = -ln sigma(u_o . v_c) - sum_k ln sigma(-u_k . v_c) = softplus(-s_o) + sum_k softplus(s_k);
    dL/dv_c = (sigma(s_o) - 1) u_o + sum_k sigma(s_k) u_k; dL/du_o = (sigma(s_o) - 1) v_c;
    dL/du_k = sigma(s_k) v_c."""
    words, c, i = list(p["words"]), int(p["window"]), int(p["center"])
    pairs = skipgram_pairs(words, c)
    v = np.asarray(p["v_c"], dtype=float)
    uo = np.asarray(p["u_o"], dtype=float)
    un = np.asarray(p["u_neg"], dtype=float)
    s_o, s_k = float(uo @ v), un @ v
    sig_o, sig_k = float(elementary.sigmoid(s_o)), np.asarray(elementary.sigmoid(s_k), dtype=float).reshape(-1)
    loss_terms = [float(elementary.softplus(-s_o))] + [float(x) for x in
                                                       np.asarray(elementary.softplus(s_k)).reshape(-1)]
    return {"n_pairs": len(pairs), "center_word": words[i],
            "center_pairs": [[words[i], words[j]] for j in range(max(0, i - c), min(len(words), i + c + 1))
                             if j != i],
            "s_o": s_o, "s_k": s_k, "sig_o": sig_o, "sig_k": sig_k, "loss_terms": loss_terms,
            "loss": float(sum(loss_terms)), "grad_v": (sig_o - 1) * uo + sig_k @ un,
            "grad_uo": (sig_o - 1) * v, "grad_uneg": np.outer(sig_k, v),
            "sigma_args": [s_o, *s_k.tolist()], "softplus_args": [-s_o, *s_k.tolist()]}


def sample_word2vec_skipgram(rng: np.random.Generator, pinned: Params) -> Params:
    """A sentence of the list, window 1 or 2, a center word; 2-dimensional vectors with entries
    in {-1, -0.5, 0, 0.5, 1} and two negative samples."""
    words = SENTENCES[int(rng.integers(len(SENTENCES)))].split()
    w = pinned.get("words", words)
    n = len(w) if isinstance(w, list) else len(words)

    def vec() -> list[float]:
        return [v / 2 if v % 2 else v // 2 for v in rng.integers(-2, 3, size=2).tolist()]

    return {"words": words, "window": int(rng.integers(1, 3)), "center": int(rng.integers(0, max(n, 1))),
            "v_c": vec(), "u_o": vec(), "u_neg": [vec(), vec()]}


def w2v_informative(p: Params) -> bool:
    """v_c is not zero, no score u . v_c is 0 and the two negatives differ"""
    a = word2vec_skipgram(p)
    return bool(np.any(np.asarray(p["v_c"]) != 0) and a["s_o"] != 0 and np.all(np.asarray(a["s_k"]) != 0)
                and p["u_neg"][0] != p["u_neg"][-1])


def w2v_gradient_zero(p: Params, a: Params) -> bool:
    """degenerate: the gradient with respect to v_c is zero"""
    return bool(np.allclose(a["grad_v"], 0.0))
