"""Pure domain rules: no AWS, no Chalice, no clock or id generation of their own."""
