"""Staff find a patient to book for by searching the directory (GET /api/admin/patients?query=...): by the start
of a name, an e-mail or a phone number, a page at a time, admins only, each patient shown recorded in its access
history; a renamed patient is no longer found by the old name, and a search entry is never a patient."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from tests.helpers import admin, doctor, patient


def sign_up(api, sub: str, name: str, email: str, phone: str) -> None:
    done = api.call("PUT", "/api/patients/me", patient(sub, name=name, email=email, phone_number=phone))
    assert done.status_code == 200, done.data


def search(api, query: str, who=None, **params):
    extra = "".join(f"&{k}={quote(str(v))}" for k, v in params.items())
    return api.call("GET", f"/api/admin/patients?query={quote(query)}{extra}", who or admin())


def test_staff_find_patients_by_name_email_or_phone(api):
    # GIVEN three patients in the directory
    sign_up(api, "p-nia", "Nia Park", "nia.park@example.org", "+16175550101")
    sign_up(api, "p-nico", "Nico Álvarez", "nico@example.org", "+16175550102")
    sign_up(api, "p-sam", "Sam Lee", "sam@clinic.example", "+14155550199")
    # WHEN staff type the start of a name (any case, accents ignored) THEN those patients, in name order
    found = search(api, "NI")
    assert found.status_code == 200, found.data
    assert [p["id"] for p in found.data["patients"]] == ["p-nia", "p-nico"]
    assert found.data["patients"][0] == {  # addresses masked, as in the patient's record
        "id": "p-nia",
        "name": "Nia Park",
        "email": "n***@example.org",
        "phone": "+1******0101",
    }
    assert [p["id"] for p in search(api, "nico alv").data["patients"]] == ["p-nico"]
    # AND by e-mail, and by the end of a phone number however it is punctuated
    assert [p["id"] for p in search(api, "SAM@clinic").data["patients"]] == ["p-sam"]
    assert [p["id"] for p in search(api, "(617) 555-0101").data["patients"]] == ["p-nia"]
    assert [p["id"] for p in search(api, "+1 617 555 0102").data["patients"]] == ["p-nico"]
    assert [p["id"] for p in search(api, "0199").data["patients"]] == ["p-sam"]
    # AND nothing matches what nobody is called
    assert search(api, "zz").data == {"patients": []}


def test_results_come_a_page_at_a_time(api):
    # GIVEN five patients whose names start alike
    for i in range(5):
        sign_up(api, f"p-{i}", f"Maya {i}", f"maya{i}@example.org", f"+1617555020{i}")
    # WHEN staff page through two at a time THEN every one appears once, in order, and the last page ends it
    seen, token, pages = [], None, 0
    while True:
        page = search(api, "maya", limit=2, **({"nextToken": token} if token else {}))
        assert page.status_code == 200, page.data
        assert len(page.data["patients"]) <= 2
        seen += [p["id"] for p in page.data["patients"]]
        pages += 1
        token = page.data.get("nextToken")
        if not token:
            break
    assert seen == [f"p-{i}" for i in range(5)] and pages >= 3
    # AND a token is good only for the search that gave it
    first = search(api, "maya", limit=2).data["nextToken"]
    refused = search(api, "sam", limit=2, nextToken=first)
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")
    # AND it is signed: a token edited to start elsewhere in the directory is refused
    payload, mac = first.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["after"][0] = "p-0"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused = search(api, "maya", limit=2, nextToken=f"{edited}.{mac}")
    assert (refused.status_code, refused.data["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_a_renamed_patient_is_found_by_the_new_name_only(api):
    # GIVEN a patient who signs in again under another name
    sign_up(api, "p-ren", "Olga Old", "olga@example.org", "+16175550301")
    sign_up(api, "p-ren", "Olga New", "olga.new@example.org", "+16175550301")
    # THEN the old name and address find nobody, the new ones find the patient
    assert search(api, "olga old").data["patients"] == []
    assert search(api, "olga@").data["patients"] == []
    assert [p["name"] for p in search(api, "olga new").data["patients"]] == ["Olga New"]
    assert [p["id"] for p in search(api, "olga.new@").data["patients"]] == ["p-ren"]


def test_each_patient_a_search_shows_is_in_its_access_history(api):
    # GIVEN a patient, found by an admin
    sign_up(api, "p-aud", "Ines Audit", "ines@example.org", "+16175550401")
    search(api, "ines", who=admin("admin-7"))
    # THEN its access history names the admin, the search and the route
    history = api.call("GET", "/api/admin/patients/p-aud/access", admin()).data["entries"]
    assert [(e["actorId"], e["action"], e["route"]) for e in history] == [
        ("admin-7", "search", "GET /api/admin/patients")
    ]


def test_only_admins_search_and_a_query_says_enough(api):
    doc = api.doctor_with_hours()
    # WHEN a patient or a doctor searches THEN 403
    for who in (patient("p-x"), doctor(doc["id"])):
        assert search(api, "ni", who=who).status_code == 403
    # WHEN the query is too short or missing THEN 400 naming the field
    short = search(api, "n")
    assert short.status_code == 400 and "query" in str(short.data["error"]["details"])
    assert api.call("GET", "/api/admin/patients", admin()).status_code == 400


def test_a_search_entry_is_never_a_patient_to_book_for(api):
    # GIVEN a patient in the directory (and so its search entries)
    doc = api.doctor_with_hours()
    sign_up(api, "p-real", "Ruth Real", "ruth@example.org", "+16175550501")
    # WHEN staff book for the id of one of its search entries THEN it is refused: nobody has that id
    refused = api.try_book(doc, admin(), patientId="SEARCH#name#p-real")
    assert refused.status_code in (400, 404), refused.data
    assert api.call("GET", "/api/admin/patients?query=ruth", admin()).data["patients"][0]["id"] == "p-real"


def test_a_patient_who_books_is_found_without_a_separate_sign_in(api):
    # GIVEN a patient who never called PUT /api/patients/me but books (the booking writes its record)
    doc = api.doctor_with_hours()
    who = patient("p-booker", name="Bea Booker", email="bea@example.org")
    assert api.try_book(doc, who).status_code == 201
    # THEN staff find the patient by name and by e-mail
    assert [p["id"] for p in search(api, "bea b").data["patients"]] == ["p-booker"]
    assert [p["id"] for p in search(api, "bea@ex").data["patients"]] == ["p-booker"]


def test_a_local_table_made_before_the_search_index_gets_it(settings):
    # GIVEN a patients table as it was before the directory search (no index), holding a patient
    import boto3
    from moto import mock_aws

    from chalicelib.adapters.dynamodb import models

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=settings.region)
        dynamodb.create_table(
            TableName=settings.patients_table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # WHEN make run creates what is missing THEN the table has the index, and its data is still there
        dynamodb.put_item(TableName=settings.patients_table, Item={"id": {"S": "p-old"}})
        models.create_tables(settings)
        table = dynamodb.describe_table(TableName=settings.patients_table)["Table"]
        assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["search-index"]
        assert "Item" in dynamodb.get_item(TableName=settings.patients_table, Key={"id": {"S": "p-old"}})
        models.create_tables(settings)  # and a second run changes nothing


def test_search_results_never_carry_a_full_address(api):
    # GIVEN a patient with its own addresses and ones the front desk entered
    sign_up(api, "p-mask", "Mara Mask", "mara.mask@example.org", "+491771234567")
    entered = {"email": "mara.desk@example.net", "phone": "+491779876543"}
    assert api.call("PUT", "/api/admin/patients/p-mask/contact", admin(), entered).status_code == 200
    # WHEN staff find it by name, by the start of its e-mail and by the end of its phone number
    for query in ("mara", "mara.mask@", "4567"):
        found = search(api, query)
        # THEN it is found, its addresses masked as in its record
        assert found.status_code == 200, found.data
        assert found.data["patients"] == [
            {"id": "p-mask", "name": "Mara Mask", "email": "m***@example.org", "phone": "+4*******4567"}
        ]
        for address in ("mara.mask@example.org", "+491771234567", *entered.values()):
            assert address not in found.body.decode()
