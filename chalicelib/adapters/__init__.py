"""Adapters to the outside world: DynamoDB (pynamodb), idempotency store, clock and ids."""
