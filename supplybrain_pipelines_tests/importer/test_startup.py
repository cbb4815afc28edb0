"""``supplybrain import`` of new lines does not load Dagster: the importer imports
``resources.warehouse`` and ``assets.unified`` (which pull it in, about 0.8 s of CPU at
start-up) only when a file needs them (an upsert of known order lines, a master-data file)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_importer_does_not_import_dagster():
    code = ("import sys, supplybrain_pipelines.importer; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
