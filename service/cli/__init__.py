"""The `denex` command line: one module per command group, errors as one clear line."""
