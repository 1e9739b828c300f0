"""What a worker holds in memory: the PDF library only once a PDF is made."""

import subprocess
import sys


def test_a_worker_that_sends_mail_does_not_load_the_pdf_library() -> None:
    # fpdf brings PIL and fontTools, some 35 MiB in each worker process; only report PDFs
    # need it, so it is imported when the first one is made (workflow/reports/export.py).
    code = (
        "import sys, workflow.tasks.jobs\n"
        "from workflow.reports import export\n"
        "print(sorted(m for m in ('fpdf', 'PIL', 'fontTools') if m in sys.modules))\n"
        "export._pdf_class()\n"
        "print('fpdf' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"
