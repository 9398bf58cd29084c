"""HTTP layer: Chalice blueprints that parse, check identity, call a use case and shape the response."""
