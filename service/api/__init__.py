"""The JSON API: app factory, problem documents, auth dependencies, routes."""
