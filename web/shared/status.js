// Appointment statuses: the API's names and the words people read.

export const STATUSES = ['scheduled', 'confirmed', 'rescheduled', 'completed', 'cancelled', 'no-show'];

export const ACTIVE = new Set(['scheduled', 'confirmed', 'rescheduled']);
// a visit still ahead of its people: it may be confirmed, moved or cancelled

export const STATUS_WORDS = {
  scheduled: 'Booked',
  confirmed: 'Confirmed',
  rescheduled: 'Rescheduled',
  completed: 'Completed',
  cancelled: 'Cancelled',
  'no-show': 'Missed',
};

export const statusWords = (status) => STATUS_WORDS[status] || status;
