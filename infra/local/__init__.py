"""Local development services: DynamoDB Local, the dev server behind `make run`, and the demo clinic seed."""
