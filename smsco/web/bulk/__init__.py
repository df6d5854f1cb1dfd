"""The bulk send page and the campaign pages."""
