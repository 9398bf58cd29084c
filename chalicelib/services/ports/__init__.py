"""The ports the use cases need, one module per area; adapters implement them. The data objects they carry live in
`chalicelib/domain/` (a `Booking`, a `PatientProfile`, a `Delivery`), and so do the errors adapters raise."""
