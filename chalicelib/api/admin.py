"""Admin-only routes beyond doctor management: an appointment's audit trail."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, endpoint
from chalicelib.domain.identity import Role

admin_api = Blueprint(__name__)


@endpoint(
    admin_api,
    "/api/admin/appointments/{id}/audit",
    "GET",
    "An appointment's audit trail",
    response="AuditTrail",
    roles=(Role.ADMIN,),
    errors=(404,),
    tags=("admin",),
)
def audit_trail(call: Call) -> s.AuditTrail:
    """The trail shows a patient's visit: the read is in that patient's access log."""
    c = call.services
    entries = c.booking_queries.audit_trail(call.params["id"])
    found = c.booking_queries.get(call.caller, call.params["id"])
    c.access.record(call.caller, call.route, [(found.patient_id, found.id)])
    return s.AuditTrail(entries=[s.AuditEntryOut.from_domain(e) for e in entries])


@endpoint(
    admin_api,
    "/api/admin/analytics",
    "GET",
    "Bookings, cancellations, reschedules, completions and no-shows per day; utilization per doctor; lead "
    "time; reminder delivery per channel (from aggregates, never a scan)",
    query="AnalyticsQuery",
    response="AnalyticsOut",
    roles=(Role.ADMIN,),
    errors=(404,),
    tags=("admin",),
)
def analytics(call: Call) -> s.AnalyticsOut:
    q: s.AnalyticsQuery = call.query
    return s.AnalyticsOut.from_domain(call.services.analytics.report(q.date_from, q.date_to, q.doctor_id))
