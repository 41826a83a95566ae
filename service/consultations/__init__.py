"""Consultations and approval notifications between a screening node and a denying node (DESIGN §7)."""
