"""Screening: the no-undercut check of an application against every active notice (DESIGN §7)."""
