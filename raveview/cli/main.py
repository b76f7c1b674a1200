"""Entry point of the ``raveview`` command.

Each sub-command lives in its own module of this package, named in
:data:`COMMANDS`, exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
With no sub-command, ``raveview [FILE...]`` opens the desktop app.
"""

from __future__ import annotations

import argparse
import os
import importlib
import sys
from collections.abc import Sequence

from raveview import __version__
from raveview.core.errors import RaveviewError

#: Sub-command name → module under ``raveview.cli``.
COMMANDS: dict[str, str] = {
    "info": "raveview.cli.info_cmd",
    "simulate": "raveview.cli.simulate_cmd",
    "train": "raveview.cli.train_cmd",
    "predict": "raveview.cli.predict_cmd",
    "model": "raveview.cli.model_cmd",
    "training-set": "raveview.cli.training_set_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="raveview",
        description="Parameterize RAVE-like Ca II triplet spectra with a CNN ensemble. "
        "With no sub-command, opens the desktop app (on FILE... if given).",
    )
    parser.add_argument("--version", action="version", version=f"raveview {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        from raveview.gui.app import main as gui_main  # the window, on the given files

        return gui_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except RaveviewError as exc:
        print(f"raveview: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("raveview: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `raveview info ... | head`: the reader went away
        try:
            sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
