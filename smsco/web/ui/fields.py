"""Form fields shared by the pages."""

from __future__ import annotations

from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxListField(SelectMultipleField):
    """Several choices as checkboxes, so choosing more than one needs no Ctrl-click.

    It posts the same ``name=value`` pairs as a multiple select; ``field()`` in
    templates/_macros.html draws it as a fieldset whose legend is the label.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
