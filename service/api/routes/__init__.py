"""API routes, one module per resource; thin: parse, call the service, return the schema."""
