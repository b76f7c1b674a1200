"""The training wizard (Tools ▸ Train a model…): one module per page, assembled in :mod:`.wizard`."""

from raveview.gui.wizard.wizard import TrainingWizard, WizardState, open_wizard

__all__ = ["TrainingWizard", "WizardState", "open_wizard"]
