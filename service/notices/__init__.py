"""Notices: validation, the signed body, lifecycle, and the derived tables rebuilt from entries."""
