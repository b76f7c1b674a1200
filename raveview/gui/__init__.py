"""The desktop app (PySide6 + pyqtgraph): a thin Qt shell over the core.

Every widget is its own module; :mod:`raveview.gui.main_window` only wires
docks, menus and signals. Qt is imported only inside this package.
"""
