"""Reminder use cases, one module per job: planning and following the appointment's changes (`planning`),
delivery and the sweep (`dispatch`), admins' bulk actions (`admin`), push devices (`devices`); `schedules` is
the EventBridge schedule bookkeeping they share. The rules themselves live in `chalicelib.domain.reminders`."""
