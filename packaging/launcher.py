"""Entry script of the frozen app: ``raveview [--self-test] [FILE...]``."""

import sys

if __name__ == "__main__":
    if "--self-test" in sys.argv[1:]:
        from raveview.gui.self_test import run_self_test

        sys.exit(run_self_test())
    from raveview.gui.startup_errors import guarded_startup

    with guarded_startup():
        from raveview.gui.app import main

        sys.exit(main(sys.argv[1:]))
