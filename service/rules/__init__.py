"""The federation's rule profile: per-regime rules in one document with one hash."""
