"""LaTeX -> HTML for the exports (Moodle, QTI): a rendered statement, stem or option as
HTML with MathJax delimiters \\( \\) and \\[ \\]: maths stays LaTeX (bmatrix is a MathJax
matrix), text markup becomes HTML, escaped characters print as themselves, a TikZ drawing
becomes a note pointing to the printed exam."""

from __future__ import annotations

import html
import re

_MATH = re.compile(r"\\\[(.*?)\\\]|\$\$(.*?)\$\$|\\\((.*?)\\\)|(?<!\\)\$(.*?)(?<!\\)\$"
                   r"|\\begin\{(equation\*?|align\*?)\}(.*?)\\end\{\5\}", re.S)
# a tabular's column spec may hold one level of braces: {|l|p{0.17\linewidth}|}
_ENV = re.compile(r"\\begin\{(tabular|itemize|enumerate)\}(\{(?:[^{}]|\{[^{}]*\})*\})?(.*?)\\end\{\1\}", re.S)
_STYLE = {"textbf": "b", "emph": "i", "textit": "i", "texttt": "code", "underline": "u", "textsc": "span"}
_DROP = ("small", "footnotesize", "scriptsize", "large", "Large", "normalsize", "noindent", "centering",
         "smallskip", "medskip", "bigskip", "hline", "toprule", "midrule", "bottomrule", "clearpage", "newpage",
         "relax", "hfill", "vfill")
# escaped characters (texfmt.escape, pylatex's escape_latex) print as themselves; braces and
# backslashes first become placeholders, so that dropping TeX's grouping braces keeps them
_LITERAL = [(r"\textbackslash{}", "\x01"), (r"\textbackslash", "\x01"), (r"\{", "\x02"), (r"\}", "\x03"),
            (r"\textasciitilde{}", "\x04"), (r"\textasciitilde", "\x04"), (r"\~{}", "\x04"), (r"\^{}", "^"),
            (r"\textasciicircum{}", "^"), (r"\textasciicircum", "^")]
_RESTORE = [("\x01", "\\"), ("\x02", "{"), ("\x03", "}"), ("\x04", "~")]
_CHARS = [(r"\%", "%"), (r"\&amp;", "&amp;"), (r"\_", "_"), (r"\#", "#"), (r"\$", "$"),
          ("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"),
          (r"\,", "\u2009"), (r"\ldots", "\u2026"), (r"\dots", "\u2026"), (r"\ ", " "), ("~", "\u00a0")]


def _math_html(tex: str, display: bool) -> str:
    tex = _squeeze(tex)
    return (r"\[" if display else r"\(") + html.escape(tex, quote=False) + (r"\]" if display else r"\)")


_DROPPED = re.compile(r"\\(" + "|".join(_DROP) + r")\b\s*")
_STYLED = re.compile(r"\\(" + "|".join(_STYLE) + r")\{([^{}]*)\}")
_UNKNOWN_WITH_ARG = re.compile(r"\\(?!(?:" + "|".join(_STYLE) + r")\{)[a-zA-Z]+\*?\{([^{}]*)\}")


# a table cell filled in the solution version only (examgentum's \egfill, \egsetfill): nothing in HTML
_FILL = re.compile(r"\\egsetfill\{[^{}]*\}\{[^{}]*\}|\\egfill\{[^{}]*\}")


def _text_html(tex: str) -> str:
    s = html.escape(_FILL.sub("", tex), quote=False)
    for old, new in _LITERAL:
        s = s.replace(old, new)
    s = re.sub(r"\\\\(\[[^\]]*\])?", "<br>", s)
    s = re.sub(r"\\(vspace|hspace)\*?\{[^{}]*\}", "", s)
    s = re.sub(r"\\begin\{center\}", '<div style="text-align:center">', s)
    s = re.sub(r"\\end\{center\}", "</div>", s)
    s = re.sub(r"\\(begin|end)\{[^{}]*\}", "", s)
    for old, new in _CHARS:
        s = s.replace(old, new)
    s = re.sub(r"\\par\b\s*", "\n\n", s)
    s = _DROPPED.sub("", s)
    while True:  # innermost first, so nesting works
        t = _STYLED.sub(lambda m: f"<{_STYLE[m.group(1)]}>{m.group(2)}</{_STYLE[m.group(1)]}>", s)
        t = _UNKNOWN_WITH_ARG.sub(r"\1", t)  # an unknown command: keep its argument
        if t == s:
            break
        s = t
    s = re.sub(r"\\[a-zA-Z]+\*?", "", s)  # unknown commands without argument
    s = s.replace("{", "").replace("}", "")
    for old, new in _RESTORE:
        s = s.replace(old, new)
    return s


# a TikZ drawing has no HTML form here: a note says where it is
_FIGURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
FIGURE_NOTE = "<i>[figure: see the printed exam]</i>"


def _hole(html_text: str, holes: list[str]) -> str:
    holes.append(html_text)
    return f"\x00{len(holes) - 1}\x00"


def _environment(m: re.Match[str], holes: list[str]) -> str:
    kind, body = m.group(1), m.group(3)
    if kind == "tabular":
        rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.replace(r"\hline", "").strip()]
        cells = ["<tr>" + "".join(f"<td>{latex_to_html(c, inline=True)}</td>" for c in re.split(r"(?<!\\)&", r))
                 + "</tr>" for r in rows]
        out = '<table border="1" style="border-collapse:collapse">' + "".join(cells) + "</table>"
    else:
        items = re.split(r"\\item\b", body)[1:]
        tag = "ul" if kind == "itemize" else "ol"
        out = f"<{tag}>" + "".join(f"<li>{latex_to_html(i, inline=True)}</li>" for i in items) + f"</{tag}>"
    return _hole(out, holes)


def _squeeze(s: str) -> str:
    """Runs of ASCII white space -> one space (a no-break space from ~ stays)."""
    return re.sub(r"[ \t\r\n]+", " ", s).strip()


def latex_to_html(tex: str, inline: bool = False) -> str:
    """LaTeX (a rendered statement, stem or option) as HTML for Moodle with MathJax:
    $..$ and \\(..\\) -> \\( \\); \\[..\\], $$..$$, equation/align -> \\[ \\]; tabular ->
    <table>; itemize/enumerate -> lists; \\textbf, \\emph, \\texttt -> <b>, <i>, <code>;
    escaped characters, quotes and dashes -> Unicode; other commands drop out (a
    command's argument stays). Paragraphs (blank lines, \\par) -> <p> unless inline."""
    holes: list[str] = []
    tex = _FIGURE.sub(lambda m: _hole(FIGURE_NOTE, holes), tex)
    tex = _ENV.sub(lambda m: _environment(m, holes), tex)
    parts: list[str] = []
    pos = 0
    for m in _MATH.finditer(tex):
        parts.append(_text_html(tex[pos:m.start()]))
        if m.group(5):
            body = m.group(6)
            parts.append(_math_html(r"\begin{aligned}" + body + r"\end{aligned}"
                                    if m.group(5).startswith("align") else body, True))
        else:
            display = m.group(1) is not None or m.group(2) is not None
            parts.append(_math_html(next(g for g in m.groups()[:4] if g is not None), display))
        pos = m.end()
    parts.append(_text_html(tex[pos:]))
    s = "".join(parts)
    s = re.sub(r"\x00(\d+)\x00", lambda m: holes[int(m.group(1))], s)
    if inline:
        return _squeeze(s)
    paras = [_squeeze(p) for p in re.split(r"\n[ \t\r]*\n", s)]
    return "".join(p if re.match(r"<(div|table|ul|ol)\b", p) else f"<p>{p}</p>" for p in paras if p)


