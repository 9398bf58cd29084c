"""DynamoDB through pynamodb: models and key shapes, item <-> entity mappers, the transaction and its retrying
commit, error decoding, and one module per store."""
