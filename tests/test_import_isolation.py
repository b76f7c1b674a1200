"""The Qt-free core must not import Qt or TensorFlow at import time."""

import json
import subprocess
import sys


def test_core_imports_no_qt_and_no_tensorflow():
    code = (
        "import sys, json\n"
        "import raveview.core, raveview.core.io, raveview.ml, raveview.ml.architecture, "
        "raveview.pipeline, raveview.cli, raveview.cli.main\n"
        "raveview.cli.main.build_parser()\n"
        "heavy = ['PySide6', 'pyqtgraph', 'tensorflow', 'keras']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"the core imported {loaded} at import time"
