"""Independent oracles for the attention templates: attention_scores, transformer_block_params,
mha_shapes, positional_encoding and word2vec_skipgram.

Expected values come from torch (F.scaled_dot_product_attention, an explicit masked softmax,
nn.TransformerEncoderLayer's and nn.MultiheadAttention's own parameters and tensors, FlopCounterMode
on meta tensors, torch.sin/cos and rotation matrices built with torch, autograd of the
negative-sampling loss) and from enumerations written here; examgen's own formulas are never
called. Draws go through the templates' own samplers: solve_question(template, derive_seed(2026, n, id)).
No seed exam has an attention question, so there are no seed numbers to pin; the pinned cases are
worked by hand in their docstrings.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from oracle import ATOL, float64  # noqa: F401  (float64: autouse fixture)
from oracle import close as _close
from oracle import draws as _draws
from oracle import pinned as _pinned
from oracle import t as _t
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.pipeline import solve_one
from examgen.questions import solve_question
from examgen.sampling import derive_seed

BANK = load_bank()


# ====================================================================== attention_scores
def _torch_attention(p: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q, k, v = _t(p["Q"]), _t(p["K"]), _t(p["V"])
    scores = q @ k.T / math.sqrt(q.shape[1])
    masked = scores
    if p["causal"]:
        keep = torch.ones(len(q), len(q), dtype=torch.bool).tril()
        masked = scores.masked_fill(~keep, float("-inf"))
    weights = torch.softmax(masked, dim=-1)
    out = F.scaled_dot_product_attention(q[None, None], k[None, None], v[None, None], is_causal=p["causal"])[0, 0]
    return scores, weights, out


def test_attention_scores_match_sdpa():
    causal = 0
    for n, q in _draws("attention_scores"):
        p, a = q.params, q.answers
        scores, weights, out = _torch_attention(p)
        ctx = f"draw {n} {p}"
        _close(a["scores"], scores, "scores", ctx)
        _close(a["weights"], weights, "weights (explicit masked softmax)", ctx)
        _close(a["output"], out, "output (F.scaled_dot_product_attention)", ctx)
        _close(a["output"], weights @ _t(p["V"]), "output (weights V)", ctx)
        causal += p["causal"]
    assert 40 <= causal <= 160  # both kinds of head are drawn


def test_attention_scores_causal_pinned():
    """d = 4: S = QK^T / 2. Q = [[2, 0, 0, 0], [0, 2, 0, 0]], K = [[2, 0, 0, 0], [0, 2, 0, 0]]: S = [[2, 0], [0, 2]].
    Causal: row 1 attends to key 1 only (weight 1, output V_1); row 2: softmax(0, 2) = (1, e^2) / (1 + e^2)."""
    q = _pinned("attention_scores", {"Q": [[2, 0, 0, 0], [0, 2, 0, 0]], "K": [[2, 0, 0, 0], [0, 2, 0, 0]],
                                     "V": [[1, 0], [0, 1]], "causal": True})
    a = q.answers
    assert a["scores"] == [[2, 0], [0, 2]]
    w = 1 / (1 + math.exp(2))
    _close(a["weights"], [[1, 0], [w, 1 - w]], "weights", "pinned")
    _close(a["output"], [[1, 0], [w, 1 - w]], "output", "pinned")


def test_attention_scores_other_square_d():
    """d = 9 pins: the scale is sqrt(9) = 3, as in F.scaled_dot_product_attention's default."""
    p = {"Q": [[1] * 9, [0] * 8 + [3]], "K": [[1] * 9, [3] + [0] * 8], "V": [[3], [-3]], "causal": False}
    a = _pinned("attention_scores", p).answers
    scores, _, out = _torch_attention(p)
    _close(a["scores"], scores, "scores", "d = 9")
    assert a["scores"] == [[3, 1], [1, 0]]
    _close(a["output"], out, "output", "d = 9")


@pytest.mark.parametrize("params, fragment", [
    ({"Q": [[1, 0, 0]], "K": [[1, 0, 0]], "V": [[1]], "causal": False},
     "parameter 'Q': expected d = 1, 4, 9 or 16 columns (sqrt(d) exact), got 3"),
    ({"Q": [[1, 0, 0, 0]] * 2, "K": [[1, 0, 0, 0]] * 3, "V": [[1]] * 2, "causal": False},
     "parameter 'K': expected the shape of Q (2 x 4), got 3 x 4"),
    ({"Q": [[1, 0, 0, 0]] * 2, "K": [[1, 0, 0, 0]] * 2, "V": [[1]] * 3, "causal": True},
     "parameter 'V': expected 2 rows (one per key), got 3"),
])
def test_attention_scores_refuses_invalid_pins(params, fragment):
    with pytest.raises(ParamError) as e:
        solve_one("attention_scores", 0, params)
    assert fragment in str(e.value)


# ====================================================================== transformer_block_params
def _layer_counts(d: int, h: int, f: int) -> dict:
    layer = nn.TransformerEncoderLayer(d, h, f, norm_first=False, device="meta")
    count = {"self_attn": 0, "linear": 0, "norm": 0}
    for name, prm in layer.named_parameters():
        group = "self_attn" if name.startswith("self_attn.") else "norm" if name.startswith("norm") else "linear"
        count[group] += prm.numel()
    head = layer.self_attn.in_proj_weight[:d].reshape(h, d // h, d)[0].T  # W_Q of head 0 as x W: d x d_k
    return {**count, "total": sum(prm.numel() for prm in layer.parameters()), "head_dim": layer.self_attn.head_dim,
            "head_shape": list(head.shape)}


def test_transformer_block_params_match_torch():
    for n, q in _draws("transformer_block_params"):
        p, a = q.params, q.answers
        exp = _layer_counts(p["d_model"], p["n_heads"], p["d_ff"])
        got = {"self_attn": a["attn_params"], "linear": a["ffn_params"], "norm": a["norm_params"],
               "total": a["block_params"], "head_dim": a["head_dim"], "head_shape": a["head_shape"]}
        assert got == exp, (n, p)


def test_transformer_block_params_base_model():
    """Vaswani et al.'s base layer (d = 512, h = 8, d_ff = 2048): 1,050,624 + 2,099,712 + 2,048 = 3,152,384."""
    a = _pinned("transformer_block_params", {"d_model": 512, "n_heads": 8, "d_ff": 2048}).answers
    assert (a["attn_params"], a["ffn_params"], a["norm_params"], a["block_params"]) == (1050624, 2099712, 2048, 3152384)
    assert _layer_counts(512, 8, 2048)["total"] == 3152384
    assert (a["head_dim"], a["head_shape"]) == (64, [512, 64])


def test_transformer_block_params_refuses_heads_not_dividing():
    with pytest.raises(ParamError) as e:
        solve_one("transformer_block_params", 0, {"d_model": 48, "n_heads": 5, "d_ff": 96})
    assert "parameter 'n_heads': expected a divisor of d_model = 48, got 5" in str(e.value)


# ====================================================================== mha_shapes
def _mha_oracle(b: int, t: int, d: int, h: int) -> dict:
    m = nn.MultiheadAttention(d, h, batch_first=True, device="meta")
    x = torch.empty(b, t, d, device="meta")
    with FlopCounterMode(display=False) as whole:
        _, w = m(x, x, x, need_weights=True, average_attn_weights=False)
    ops = {str(k): v for k, v in whole.get_flop_counts()["Global"].items()}
    qh = F.linear(x, m.in_proj_weight[:d], m.in_proj_bias[:d]).view(b, t, h, d // h).transpose(1, 2)
    with FlopCounterMode(display=False) as qk:
        torch.einsum("bhtk,bhsk->bhts", qh, qh)
    return {"qkv_shape": list(qh.shape), "attn_shape": list(w.shape),
            "params": sum(prm.numel() for prm in m.parameters()),
            "macs_qk": qk.get_total_flops() // 2,
            "macs_scores": ops["aten.bmm"] // 2,  # Q K^T and A V
            "macs_proj": sum(v for k, v in ops.items() if k != "aten.bmm") // 2}  # mm/addmm of the projections


def test_mha_shapes_match_torch():
    for n, q in _draws("mha_shapes"):
        p, a = q.params, q.answers
        exp = _mha_oracle(p["B"], p["T"], p["d_model"], p["h"])
        ctx = (n, p)
        assert a["qkv_shape"] == exp["qkv_shape"], ctx
        assert a["attn_shape"] == exp["attn_shape"], ctx
        assert a["mha_params"] == exp["params"], ctx
        assert a["macs_qk"] == exp["macs_qk"], ctx
        assert a["macs_qk"] + a["macs_av"] == exp["macs_scores"], ctx
        assert a["macs_proj"] == exp["macs_proj"], ctx


def test_mha_shapes_pinned():
    """B = 2, T = 10, d = 64, h = 4: d_k = 16, Q per head (2, 4, 10, 16), A (2, 4, 10, 10);
    4 * 64^2 + 4 * 64 = 16640 parameters; Q K^T: 2 * 10^2 * 64 = 12800 multiply-adds."""
    a = _pinned("mha_shapes", {"B": 2, "T": 10, "d_model": 64, "h": 4}).answers
    assert (a["qkv_shape"], a["attn_shape"], a["mha_params"], a["macs_qk"]) == (
        [2, 4, 10, 16], [2, 4, 10, 10], 16640, 12800)


# ====================================================================== positional_encoding
def _rotation(angle: float) -> torch.Tensor:
    c, s = torch.cos(_t(angle)), torch.sin(_t(angle))
    return torch.stack([torch.stack([c, -s]), torch.stack([s, c])])


def _pe(pos: int, d: int) -> torch.Tensor:
    i2 = torch.arange(0, d, 2, dtype=torch.float64)
    angle = pos / torch.pow(_t(10000.0), i2 / d)
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=1).reshape(-1)  # sin, cos interleaved


def test_positional_encoding_matches_torch():
    for n, q in _draws("positional_encoding"):
        p, a = q.params, q.answers
        ctx = f"draw {n} {p}"
        _close(a["pe"], _pe(p["pos"], p["d_model"]), "PE(pos)", ctx, atol=1e-12)
        qv, kv = _t(p["q"]), _t(p["k"])
        rq, rk = _rotation(p["m"] * p["theta"]) @ qv, _rotation(p["n"] * p["theta"]) @ kv
        _close(a["rq"], rq, "R(m theta) q", ctx)
        _close(a["rk"], rk, "R(n theta) k", ctx)
        _close(a["dot"], rq @ rk, "rotated dot product", ctx)
        _close(a["dot_rel"], qv @ (_rotation((p["n"] - p["m"]) * p["theta"]) @ kv), "q R((n-m) theta) k", ctx)
        shifted = (_rotation((p["m"] + 5) * p["theta"]) @ qv) @ (_rotation((p["n"] + 5) * p["theta"]) @ kv)
        _close(a["dot"], shifted, "dot product of both positions shifted by 5", ctx)


def test_positional_encoding_pinned():
    """d = 4, pos = 1: frequencies 1 and 1/100: PE = (sin 1, cos 1, sin 0.01, cos 0.01).
    q = (1, 0) at m = 0 is not rotated; k = (0, 1) at n = 1 with theta = 0.5: R(0.5) k = (-sin 0.5, cos 0.5),
    the dot product -sin 0.5."""
    a = _pinned("positional_encoding", {"pos": 1, "d_model": 4, "q": [1, 0], "k": [0, 1], "m": 0, "n": 1,
                                        "theta": 0.5}).answers
    _close(a["pe"], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)], "PE(1)", "pinned")
    _close(a["rk"], [-math.sin(0.5), math.cos(0.5)], "R(0.5) k", "pinned")
    _close([a["dot"], a["dot_rel"]], [-math.sin(0.5)] * 2, "dot products", "pinned")


def test_positional_encoding_refuses_odd_dimension():
    with pytest.raises(ParamError) as e:
        solve_one("positional_encoding", 0, {"d_model": 5})
    assert "parameter 'd_model': expected an even number (sin/cos pairs), got 5" in str(e.value)


# ====================================================================== word2vec_skipgram
def _pairs(words: list[str], c: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(words)) for j in range(len(words)) if i != j and abs(i - j) <= c]


def test_word2vec_skipgram_matches_autograd():
    for n, q in _draws("word2vec_skipgram"):
        p, a = q.params, q.answers
        ctx = f"draw {n} {p}"
        pairs = _pairs(p["words"], p["window"])
        assert a["n_pairs"] == len(pairs), ctx
        assert a["center_pairs"] == [[p["words"][i], p["words"][j]] for i, j in pairs if i == p["center"]], ctx
        v = _t(p["v_c"]).requires_grad_()
        uo = _t(p["u_o"]).requires_grad_()
        un = _t(p["u_neg"]).requires_grad_()
        loss = -F.logsigmoid(uo @ v) - F.logsigmoid(-(un @ v)).sum()
        loss.backward()
        _close(a["loss"], loss.detach(), "loss", ctx)
        _close(a["grad_v"], v.grad, "dL/dv_c", ctx)
        _close(a["grad_uo"], uo.grad, "dL/du_o", ctx)
        _close(a["grad_uneg"], un.grad, "dL/du_k", ctx)


def test_word2vec_skipgram_pinned():
    """'a b c d', c = 2: 2 + 3 + 3 + 2 = 10 pairs; center b: (b, a), (b, c), (b, d).
    v_c = u_o = (1, 0), one negative u_1 = (-1, 0): s_o = 1, s_1 = -1, L = 2 ln(1 + e^-1)."""
    a = _pinned("word2vec_skipgram", {"words": ["a", "b", "c", "d"], "window": 2, "center": 1, "v_c": [1, 0],
                                      "u_o": [1, 0], "u_neg": [[-1, 0]]}).answers
    assert a["n_pairs"] == 10
    assert a["center_pairs"] == [["b", "a"], ["b", "c"], ["b", "d"]]
    _close(a["loss"], 2 * math.log(1 + math.exp(-1)), "loss", "pinned")
    s = 1 / (1 + math.exp(-1))
    _close(a["grad_v"], [(s - 1) - (1 - s), 0], "dL/dv_c", "pinned")


def test_word2vec_skipgram_refuses_mismatched_vectors():
    with pytest.raises(ParamError) as e:
        solve_one("word2vec_skipgram", 0, {"v_c": [1, 0], "u_o": [1, 0, 0]})
    assert "parameter 'u_o': expected a vector of 2 numbers, got [1, 0, 0]" in str(e.value)


# ====================================================================== pinning
@pytest.mark.parametrize("tid", ["attention_scores", "transformer_block_params", "mha_shapes",
                                 "positional_encoding", "word2vec_skipgram"])
def test_every_parameter_pins_by_name(tid):
    """All of a draw's parameters pinned by name give the same problem and the same key."""
    for n in (1, 2, 3):
        q = solve_question(BANK.templates[tid], derive_seed(2026, n, tid))
        pinned = _pinned(tid, dict(q.params))
        assert pinned.params == q.params and pinned.answers == q.answers, (tid, n)
        assert set(q.params) == {d.name for d in BANK.templates[tid].params}


# ====================================================================== by hand (sin and cos tables)
@pytest.mark.parametrize("tid, heads", [("attention_scores", ["e^{z}"]),
                                        ("positional_encoding", [r"\sin z", r"\cos z"]),
                                        ("word2vec_skipgram", [r"\sigma(s)", r"\mathrm{softplus}(s)"])])
def test_tables_make_the_draws_solvable_by_hand(tid, heads):
    """The statement prints its tables, and the key follows from the printed values alone."""
    from examgen import handcalc
    from examgen.layouts import STUDENT
    from examgen.layouts.tum import render_question_body

    for n in range(1, 31):
        q = solve_question(BANK.templates[tid], derive_seed(2026, n, tid))
        text = "".join(render_question_body(q, STUDENT))
        if tid == "attention_scores" and not q.answers["exp_args"]:
            continue
        assert all(h in text for h in heads), (tid, n)
        assert handcalc.failures(q) == [], (tid, n)


def test_a_missing_sin_table_is_reported():
    """handcalc knows sin and cos: with no table printed, every angle is 'used but not printed'."""
    from examgen import handcalc

    q = _pinned("positional_encoding", {"pos": 14, "d_model": 8, "q": [-2, -1], "k": [1, 0], "m": 4, "n": 6,
                                        "theta": 0.3})
    fails = handcalc.failures(q, {})
    assert len(fails) == 1
    assert fails[0].startswith(r"$\sin 14$, $\cos 14$, $\sin 1.4$, $\cos 1.4$, $\sin 0.14$"), fails
    assert r"$\cos 0.6$, $\sin 0.6$ are used but not printed (calculator: tables;" in fails[0], fails
