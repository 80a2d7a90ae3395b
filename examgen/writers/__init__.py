"""Writers: each output of an exam is one module here, a function of the exam record
(model.Exam: the spec, the seed and every variant's solved questions, plus, after
compiling, each variant's pages and answer regions). The pipeline builds the record once;
a writer never samples or solves the exam again. The online exports take each question's
statement and solution texts from the render stage (questions.texts, the one renderer),
once per question.

* pdf       -- E????/student.pdf and solution.pdf (the compiled PDFs with their scan codes), print/ (the booklets)
* answers   -- E????/answers.json, version 2 (schema: examgen/schemas/answers-v2.schema.json)
* layoutjson -- E????/layout.json: where a scanner finds discs, QR, MC boxes, score cells, answer areas
* keycsv    -- answer_key.csv, one row per graded answer
* manifest  -- manifest.json, written last: every file's sha256 and the inputs' fingerprint
* moodle    -- Moodle XML (cloze/essay/multichoiceset) with tolerances and weights from the declarations
* qti       -- IMS QTI 2.1 content package (zip)

Shared by the online exports: graded (what an export grades by itself, what a tutor grades,
the weights and phrases) and htmltext (LaTeX -> HTML with MathJax).

A new output format is one new module with `render(exam, **options) -> bytes` (or, for
per-variant files, `write(exam, folder)`), and one `examgen export NAME` entry in cli.py."""
