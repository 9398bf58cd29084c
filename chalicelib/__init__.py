"""Clinic appointment booking backend: domain rules, use cases, AWS adapters and HTTP blueprints."""
