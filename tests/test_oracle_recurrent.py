"""Independent oracles for the recurrent templates: rnn_param_count, rnn_sequence_forward,
lstm_scalar_forward, rnn_gradient_stability and lstm_gate_roles.

Expected values come from torch (nn.RNN / nn.LSTM / nn.GRU with their weights set,
torch.linalg.eigvals, autograd), from parsing the rendered statement (gate roles), or from the
seed exams (/work/shared/seeds/) recomputed by hand; examgen's own formulas are never called.
Draws go through the templates' own samplers: solve_question(template, derive_seed(seed, n, id)).
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from oracle import ATOL, float64  # noqa: F401  (float64: autouse fixture)
from oracle import close as _close
from oracle import draws as _draws
from oracle import pinned as _pinned
from oracle import t as _t
from torch import nn

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.layouts import STUDENT
from examgen.layouts.tum import render_question_body

BANK = load_bank()


# ====================================================================== rnn_param_count
CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _torch_count(p: dict) -> dict:
    m = CELLS[p["cell"]](p["input_dim"], p["hidden_dim"], bias=p["bias"])
    named = dict(m.named_parameters())
    bias = sum(v.numel() for k, v in named.items() if k.startswith("bias"))
    return {
        "total": sum(v.numel() for v in m.parameters()),
        "weight_ih": named["weight_ih_l0"].numel(),
        "weight_hh": named["weight_hh_l0"].numel(),
        "biases": bias,
        "gates": named["weight_ih_l0"].shape[0] // p["hidden_dim"],
    }


def test_rnn_param_count_matches_torch():
    for n, q in _draws("rnn_param_count"):
        p, a = q.params, q.answers
        exp = _torch_count(p)
        for k, v in exp.items():
            assert a[k] == v, (n, p, k, a[k], v)
        assert a["per_gate"] * a["gates"] == exp["total"]
        h, i = p["hidden_dim"], p["input_dim"]
        assert (a["gate_weight_ih"], a["gate_weight_hh"], a["gate_biases"]) == (h * i, h * h, 2 * h * p["bias"])


def test_rnn_param_count_seed_004_p6a():
    """Seed 004 P6a: x_t in R^4, h_t in R^12, vanilla RNN, bias neglected: 4*12 + 12*12 = 192."""
    q = _pinned("rnn_param_count", {"input_dim": 4, "hidden_dim": 12, "cell": "rnn", "bias": False})
    assert q.answers["total"] == 192 == _torch_count(q.params)["total"]
    assert (q.answers["weight_ih"], q.answers["weight_hh"], q.answers["biases"]) == (48, 144, 0)


def test_rnn_param_count_counts_both_pytorch_biases():
    """PyTorch keeps two bias vectors per gate (b_ih and b_hh), textbooks one. The seed (004 P6a)
    neglects the bias, so it does not disagree; with bias the key follows PyTorch (216 for the
    seed's RNN, not the textbook's 204; LSTM 4*(48 + 144 + 24) = 864, not 816), and the
    statement says so; the rubric's remark names the textbook count (one bias vector per gate)."""
    q = _pinned("rnn_param_count", {"input_dim": 4, "hidden_dim": 12, "cell": "rnn", "bias": True})
    assert q.answers["total"] == 216 == _torch_count(q.params)["total"]
    assert q.answers["total"] - q.answers["biases"] // 2 == 204 == 4 * 12 + 12 * 12 + 12
    q = _pinned("rnn_param_count", {"input_dim": 4, "hidden_dim": 12, "cell": "lstm", "bias": True})
    assert q.answers["total"] == 864 == _torch_count(q.params)["total"]
    assert q.answers["total"] - q.answers["biases"] // 2 == 816 == 4 * (4 * 12 + 12 * 12 + 12)
    q = _pinned("rnn_param_count", {"input_dim": 4, "hidden_dim": 12, "cell": "gru", "bias": False})
    assert q.answers["total"] == 576 == _torch_count(q.params)["total"]


# ====================================================================== rnn_sequence_forward
def _rnn_seq_oracle(p: dict) -> dict:
    U, W, b, V, c = _t(p["U"]), _t(p["W"]), _t(p["b"]), _t(p["V"]), float(p["c"])
    hidden, inp = U.shape
    rnn = nn.RNN(inp, hidden, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(U)
        rnn.weight_hh_l0.copy_(W)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
        hs, _ = rnn(_t(p["X"]).unsqueeze(0), _t(p["h0"]).reshape(1, 1, -1))
    hs = hs[0]
    prev = torch.cat([_t(p["h0"]).unsqueeze(0), hs[:-1]])
    pre = _t(p["X"]) @ U.T + prev @ W.T + b
    s = hs @ V + c
    return {"h": hs, "a": pre, "s": s, "o": torch.sigmoid(s)}


def test_rnn_sequence_forward_matches_torch():
    for n, q in _draws("rnn_sequence_forward"):
        exp = _rnn_seq_oracle(q.params)
        for k, v in exp.items():
            _close(q.answers[k], v, k, f"draw {n}, params {q.params}")
        assert q.answers["T"] == len(q.params["X"])
        # exam-worthy: everything but o_t is an integer
        assert all(float(v).is_integer() for row in q.answers["h"] for v in row)


SEED_002_Q15 = {
    "U": [[0.5, 0.1], [0.4, 0.01]], "W": [[0.1, 0.3], [0.3, 0.1]], "b": [0, 0], "V": [2, 3], "c": 1,
    "h0": [0, 0], "X": [[0.1, 0.1], [0.7, 0.4], [0.5, 0.2], [0.1, 0.1], [0.8, 0.8]],
}


def test_rnn_sequence_forward_seed_002_q15():
    """Seed 002 Q15 has no worked solution (it asks to plot o_t). Recomputed by hand:
    h_1 = U x_1 = (0.06, 0.041); h_2 = (0.39, 0.284) + W h_1 = (0.39 + 0.0183, 0.284 + 0.0221) =
    (0.4083, 0.3061); ... every pre-activation is positive, so the ReLU never clips.
    s_t = 2 h_t1 + 3 h_t2 + 1; the outputs rise except at t = 4 (the small input x_4 = x_1)."""
    q = _pinned("rnn_sequence_forward", SEED_002_Q15)
    h = [[0.06, 0.041], [0.4083, 0.3061], [0.40266, 0.3551], [0.206796, 0.197308], [0.559872, 0.4097696]]
    s = [1.243, 2.7349, 2.87062, 2.005516, 3.3490528]
    _close(q.answers["h"], h, "h")
    _close(q.answers["s"], s, "s")
    _close(q.answers["o"], [1 / (1 + math.exp(-v)) for v in s], "o")
    assert [round(v, 3) for v in q.answers["o"]] == [0.776, 0.939, 0.946, 0.881, 0.966]
    exp = _rnn_seq_oracle(q.params)
    _close(q.answers["o"], exp["o"], "o (torch)")


# ====================================================================== lstm_scalar_forward
G = ("i", "f", "g", "o")


def _lstm_oracle(p: dict) -> dict:
    """torch.nn.LSTMCell step by step (gate order i, f, g, o; bias_hh = 0), checked against nn.LSTM."""
    cell = nn.LSTMCell(1, 1)
    lstm = nn.LSTM(1, 1)
    with torch.no_grad():
        for m, suffix in ((cell, ""), (lstm, "_l0")):
            getattr(m, "weight_ih" + suffix).copy_(_t([[p[f"w_{g}"]] for g in G]))
            getattr(m, "weight_hh" + suffix).copy_(_t([[p[f"u_{g}"]] for g in G]))
            getattr(m, "bias_ih" + suffix).copy_(_t([p[f"b_{g}"] for g in G]))
            getattr(m, "bias_hh" + suffix).zero_()
        h, c = _t([[p["h0"]]]), _t([[p["c0"]]])
        out: dict[str, list] = {k: [] for k in ("h", "c", *G)}
        for x in p["x"]:
            z = cell.weight_ih @ _t([x]) + cell.weight_hh @ h[0] + cell.bias_ih
            out["i"].append(torch.sigmoid(z[0]))
            out["f"].append(torch.sigmoid(z[1]))
            out["g"].append(torch.tanh(z[2]))
            out["o"].append(torch.sigmoid(z[3]))
            h, c = cell(_t([[x]]), (h, c))
            out["h"].append(h[0, 0])
            out["c"].append(c[0, 0])
        seq, (hT, cT) = lstm(_t(p["x"]).reshape(-1, 1, 1), (_t([[[p["h0"]]]]), _t([[[p["c0"]]]])))
    _close(seq.reshape(-1), torch.stack(out["h"]), "nn.LSTM vs nn.LSTMCell h")
    _close(cT.reshape(()), out["c"][-1], "nn.LSTM vs nn.LSTMCell c_T")
    return {k: torch.stack(v) for k, v in out.items()}


def test_lstm_scalar_forward_matches_torch():
    for n, q in _draws("lstm_scalar_forward"):
        exp = _lstm_oracle(q.params)
        for k, v in exp.items():
            _close(q.answers[k], v, k, f"draw {n}, params {q.params}")
        for k in ("i", "f", "g", "o", "c", "h"):
            _close(q.answers[f"{k}_1"], exp[k][0], f"{k}_1")
        _close(q.answers["c_rest"], exp["c"][1:], "c_rest")
        _close(q.answers["h_rest"], exp["h"][1:], "h_rest")


# Seed 002 Q17 in the template's names. The seed writes Goodfellow's LSTM (Deep Learning book,
# 10.10.1): U = input weights, W = recurrent weights; g = input gate, f = forget gate,
# q = output gate, and the unnamed U = 0.01, W = 0.1, b = 1 block is the cell input.
SEED_002_Q17 = {
    "x": [0.7, 0.5, 0.7], "h0": 0, "c0": 0,
    "w_i": 0.3, "u_i": -0.3, "b_i": 0.1,
    "w_f": 0.25, "u_f": 0.3, "b_f": 0,
    "w_o": 0.4, "u_o": 0.3, "b_o": 0.2,
    "w_g": 0.01, "u_g": 0.1, "b_g": 1,
}


def _sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_lstm_scalar_forward_seed_002_q17():
    """Seed 002 Q17 gives no worked solution, and its equations are NOT PyTorch's: the cell input
    goes through a sigmoid (Goodfellow) instead of tanh, and h = ReLU(s) * q instead of
    o * tanh(c). The template asks for PyTorch's LSTM (catalogue), so the key is the PyTorch
    forward pass, recomputed here by hand; the seed's own formulation gives different values
    (asserted below, so the difference stays documented). In both, h_1 != h_3 although
    x_1 = x_3 = 0.7: the state carries memory (the seed's 'why?').
    By hand, t = 1: i = sigma(0.31) = 0.5769, f = sigma(0.175) = 0.5436, g = tanh(1.007) = 0.7645,
    o = sigma(0.48) = 0.6177; c_1 = 0.5769 * 0.7645 = 0.441, h_1 = 0.6177 * tanh(0.441) = 0.256."""
    q = _pinned("lstm_scalar_forward", SEED_002_Q17)
    p = SEED_002_Q17
    h = c = 0.0
    hs, cs = [], []
    sh = ss = 0.0
    seed_h = []
    for x in p["x"]:
        i = _sig(0.3 * x - 0.3 * h + 0.1)
        f = _sig(0.25 * x + 0.3 * h)
        o = _sig(0.4 * x + 0.3 * h + 0.2)
        g = math.tanh(0.01 * x + 0.1 * h + 1)
        c = f * c + i * g
        h = o * math.tanh(c)
        hs.append(h)
        cs.append(c)
        # the seed's (Goodfellow + ReLU) cell
        gi, gf, gq = _sig(0.3 * x - 0.3 * sh + 0.1), _sig(0.25 * x + 0.3 * sh), _sig(0.4 * x + 0.3 * sh + 0.2)
        ss = gf * ss + gi * _sig(0.01 * x + 0.1 * sh + 1)
        sh = max(ss, 0.0) * gq
        seed_h.append(sh)
    _close(q.answers["h"], hs, "h")
    _close(q.answers["c"], cs, "c")
    assert [round(v, 3) for v in q.answers["c"]] == [0.441, 0.663, 0.807]
    assert [round(v, 3) for v in q.answers["h"]] == [0.256, 0.358, 0.429]
    # the seed's formulation is a different network: h = 0.261, 0.391, 0.495 instead of 0.256, 0.358, 0.429
    # (t = 1: s_1 = 0.5769 * sigma(1.007) = 0.4225, h_1 = 0.4225 * 0.6177 = 0.261)
    assert [round(v, 3) for v in seed_h] == [0.261, 0.391, 0.495]
    assert abs(hs[0] - hs[2]) > 0.1 and abs(seed_h[0] - seed_h[2]) > 0.1


# ====================================================================== rnn_gradient_stability
def _eig_key(z: complex) -> tuple:
    return (-round(abs(z), 9), -round(z.real, 9), -round(z.imag, 9))


def test_rnn_gradient_stability_matches_torch():
    regimes = set()
    for n, q in _draws("rnn_gradient_stability"):
        p, a = q.params, q.answers
        W = _t(p["W"])
        ev = sorted((complex(z) for z in torch.linalg.eigvals(W).tolist()), key=_eig_key)
        got = sorted((complex(r, i) for r, i in a["eigenvalues"]), key=_eig_key)
        ctx = f"draw {n}, W = {p['W']}"
        _close([z.real for z in got], [z.real for z in ev], "eigenvalues (real)", ctx, 1e-7)
        _close([z.imag for z in got], [z.imag for z in ev], "eigenvalues (imag)", ctx, 1e-7)
        rho = float(torch.linalg.eigvals(W).abs().max())
        _close(a["rho"], rho, "rho", ctx, 1e-7)
        _close(a["jacobian_2"], torch.linalg.matrix_power(W, 2), "W^2", ctx)
        _close(a["trace"], torch.trace(W), "trace", ctx)
        _close(a["det"], torch.linalg.det(W), "det", ctx, 1e-9)
        # the regime as autograd sees it: || d h_60 / d h_0 || of the linear RNN
        h0 = torch.zeros(W.shape[0])
        jac = torch.autograd.functional.jacobian(lambda h, W=W: _unroll(W, h, 60), h0)
        norm = float(torch.linalg.matrix_norm(jac, ord=2))
        expected = "explode" if norm > 1e3 else ("vanish" if norm < 1e-3 else "neither")
        assert a["regime"] == expected, (ctx, norm, a["regime"])
        regimes.add(a["regime"])
        # hand-computable: eigenvalues with at most two decimals
        assert all(abs(v * 100 - round(v * 100)) < 1e-6 for z in a["eigenvalues"] for v in z), ctx
    assert regimes == {"vanish", "explode"}  # rho = 1 is the borderline case: never drawn (issue 14)


def _unroll(W: torch.Tensor, h: torch.Tensor, steps: int) -> torch.Tensor:
    for _ in range(steps):
        h = W @ h
    return h


def test_rnn_gradient_stability_seed_001_p10a():
    """Seed 001 P10a (no numbers): 'largest eigenvalue of theta_c > 1 explodes, < 1 vanishes'.
    The seed's premise that theta_c is orthogonal would make every |lambda| = 1 (neither);
    the rule itself is what the template keys, checked on an orthogonal, a contracting and an
    expanding matrix."""
    q = _pinned("rnn_gradient_stability", {"W": [[0.6, -0.8], [0.8, 0.6]]})
    assert (q.answers["rho"], q.answers["regime"]) == (1, "neither")
    assert sorted(q.answers["eigenvalues"]) == [[0.6, -0.8], [0.6, 0.8]]
    q = _pinned("rnn_gradient_stability", {"W": [[0.5, 2], [0, -0.25]]})
    assert (q.answers["rho"], q.answers["regime"], q.answers["triangular"]) == (0.5, "vanish", 1)
    q = _pinned("rnn_gradient_stability", {"W": [[1, 1], [1, 1]]})
    assert (q.answers["rho"], q.answers["regime"], q.answers["eigenvalues"]) == (2, "explode", [[2, 0], [0, 0]])


# ====================================================================== lstm_gate_roles
def _roles_from_statement(q) -> dict:
    """Read the roles off the rendered equations, as a student would."""
    body = "".join(render_question_body(q, STUDENT))
    tanh_gates = re.findall(r"g_(\d+) &= \\tanh\(", body)
    (ct,) = re.findall(r"c_t &= (.*?), \\\\", body)
    forget = re.search(r"g_(\d+) \\odot c_\{t-1\}", ct)
    update = re.search(r"g_(\d+) \\odot (?:g_(\d+)|\\tilde\{c\}_t)", ct)
    output = re.search(r"h_t &= g_(\d+) \\odot \\tanh\(c_t\)", body)
    assert forget and update and output, body
    assert update.group(2) == (tanh_gates[0] if tanh_gates else None)
    return {"forget": int(forget.group(1)), "update": int(update.group(1)), "output": int(output.group(1)),
            "candidate": int(tanh_gates[0]) if tanh_gates else 0}


def test_lstm_gate_roles_key_matches_the_shown_equations():
    for n, q in list(_draws("lstm_gate_roles"))[:60]:  # rendering is slower; 60 draws cover every layout
        exp = _roles_from_statement(q)
        got = {k: q.answers[k] for k in exp}
        assert got == exp, (n, q.params)
        shown = [k for k in (exp["forget"], exp["update"], exp["output"], exp["candidate"]) if k]
        assert sorted(shown) == list(range(1, len(q.params["order"]) + 1))


def test_lstm_gate_roles_seeds_001_p10c_004_p6e():
    """Seeds 001 P10c and 004 P6e: g_1 = output, g_2 = forget, g_3 = update (c_t = g_2 c_{t-1} + g_3 c~_t).
    The seeds write h_t = g_1 * c_t; the template shows h_t = g_1 * tanh(c_t) (PyTorch), same roles."""
    q = _pinned("lstm_gate_roles", {"order": ["output", "forget", "update"], "swap_terms": False})
    assert (q.answers["output"], q.answers["forget"], q.answers["update"], q.answers["candidate"]) == (1, 2, 3, 0)
    assert _roles_from_statement(q) == {"output": 1, "forget": 2, "update": 3, "candidate": 0}


# ====================================================================== pinned-parameter validation
BAD = [
    ("rnn_param_count", {"input_dim": 4, "hidden_dim": 0, "cell": "rnn", "bias": False},
     "template 'rnn_param_count', parameter 'hidden_dim': expected an integer from 1 to 100000, got 0"),
    ("rnn_param_count", {"input_dim": 4, "hidden_dim": 3, "cell": "lstmx", "bias": False},
     "template 'rnn_param_count', parameter 'cell': expected one of rnn, lstm, gru, got 'lstmx'"),
    ("rnn_sequence_forward", {**SEED_002_Q15, "W": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]},
     "template 'rnn_sequence_forward', parameter 'W': expected shape 2 x 2 (hidden x hidden, hidden = 2 from U), "
     "got 3 x 3"),
    ("rnn_sequence_forward", {**SEED_002_Q15, "X": [[1, 2, 3]]},
     "template 'rnn_sequence_forward', parameter 'X': expected shape any x 2 (T x input, input = 2 from U), got 1 x 3"),
    ("rnn_sequence_forward", {**SEED_002_Q15, "V": [1, 2, 3]},
     "template 'rnn_sequence_forward', parameter 'V': expected 2 entries (one output weight per hidden unit, "
     "hidden = 2 from U), got 3"),
    ("lstm_scalar_forward", {**SEED_002_Q17, "x": [0.5]},
     "template 'lstm_scalar_forward', parameter 'x': expected a sequence of 2 to 6 numbers, got [0.5]"),
    ("rnn_gradient_stability", {"W": [[1, 2, 3], [4, 5, 6]]},
     "template 'rnn_gradient_stability', parameter 'W': expected a square matrix of size 1 to 4, got 2 x 3"),
    ("lstm_gate_roles", {"order": ["forget", "forget", "output"], "swap_terms": False},
     "template 'lstm_gate_roles', parameter 'order': expected the roles forget, update, output (and optionally "
     "candidate), each once, in the order of g_1, g_2, ...; got ['forget', 'forget', 'output']"),
]


@pytest.mark.parametrize(("tid", "params", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_pinned_params_name_the_parameter(tid, params, message):
    with pytest.raises(ParamError) as exc:
        _pinned(tid, params)
    assert str(exc.value) == message
