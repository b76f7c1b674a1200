"""The ``raveview`` command line (Qt-free; the GUI is imported only when asked for)."""
