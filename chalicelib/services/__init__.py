"""Use cases: book, reschedule, cancel, change status, availability, doctors. They take plain values and ports."""
