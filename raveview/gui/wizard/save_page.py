"""Wizard page 5: name and describe the bundle, make it the active model."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QWidget, QWizardPage

from raveview.core.errors import ModelError
from raveview.ml.bundle import ModelBundle, bundle_id, write_manifest


def rename_bundle(path, name: str, description: str) -> str:
    """Set the name and description in the bundle's manifest (the id follows the name); returns the id."""
    bundle = ModelBundle.load(path, verify=False)
    manifest = dict(bundle.manifest)
    manifest["name"], manifest["description"] = name, description
    manifest["id"] = bundle_id(manifest)
    write_manifest(path, manifest)
    return manifest["id"]


class SavePage(QWizardPage):
    """The final page; the wizard emits ``model_saved`` when it is accepted."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Save the model")
        self.name = QLineEdit()
        self.description = QPlainTextEdit()
        self.activate = QCheckBox("Make it the active model")
        self.activate.setChecked(True)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow(self.activate)
        form.addRow(self.info)
        self.name.textChanged.connect(self.completeChanged)

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        path = self.state.bundle_path
        if not self.name.text():
            self.name.setText(path.name)
        self.info.setText(f"Bundle folder: {path}\nTrained on: {self.state.data.trained_on}")

    def isComplete(self) -> bool:  # noqa: N802
        return bool(self.name.text().strip())

    def validatePage(self) -> bool:  # noqa: N802
        try:
            rename_bundle(self.state.bundle_path, self.name.text().strip(), self.description.toPlainText().strip())
        except (ModelError, OSError) as exc:
            self.info.setText(f"⚠ {exc}")
            return False
        return True
