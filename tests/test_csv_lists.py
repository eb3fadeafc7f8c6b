""""Download CSV" of every list page (annotations/csvexport.py): exactly the filtered rows,
formula cells neutralised, text intact, times in the user's zone, one query per export."""

import csv
import io

import pytest
from django.urls import reverse

from annotations import csvexport
from annotations.models import Profile
from annotations.services.claims import claim_update
from tests.conftest import claim_in_state, expect_queries

pytestmark = pytest.mark.django_db

QUOTES = ["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group",
          "Kuralenko", "Tikrit"]
SESSION = ("django_session: the session", "auth_user: the logged-in user")
DESK = "annotations_membership: the desk by its slug, with the user's membership (access.workspace_get)"


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, for spreadsheets"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def claims(article, crew):
    """Two drafts, two submitted, one in review, one approved."""
    states = ["draft", "draft", "submitted", "submitted", "in_review", "approved"]
    return {quote: claim_in_state(state, article, crew, quote=quote)
            for quote, state in zip(QUOTES, states, strict=True)}


def test_formula_cells_are_neutralised_and_text_is_kept_intact():
    rows = [{"a": "=cmd|' /C calc'!A0", "b": "+1", "c": "@SUM(1)", "d": "-2", "e": "\tx", "f": "\rx",
             "g": 'Says "no", then,\nleaves', "h": "قال الوزير إن الضربات ممكنة", "i": "a=b", "j": 7}]
    columns = [csvexport.Column(key.upper(), key) for key in rows[0]]
    text = "".join(csvexport.lines(rows, columns, csvexport.zone_of("UTC")))
    assert text.startswith("\ufeffA,B,C,")
    (row,) = list(csv.DictReader(io.StringIO(text[1:], newline="")))
    assert row == {"A": "'=cmd|' /C calc'!A0", "B": "'+1", "C": "'@SUM(1)", "D": "'-2", "E": "'\tx", "F": "'\rx",
                   "G": 'Says "no", then,\nleaves', "H": "قال الوزير إن الضربات ممكنة", "I": "a=b", "J": "7"}


def test_the_claims_csv_holds_exactly_the_filtered_rows_in_my_time_zone(client, crew, desk, claims):
    draft = claims[QUOTES[0]]
    claim_update(claim=draft, actor=crew["author"], revision=draft.revision,
                 fields={"claim_reviewed": "=cmd|' /C calc'!A0", "claimant": "@SUM(1)"})
    Profile.objects.update_or_create(user=crew["admin"], defaults={"time_zone": "Asia/Baghdad"})
    client.force_login(crew["admin"])
    rows = read_csv(client.get(reverse("claims", args=[desk.slug]), {"state": "draft", "download": "csv"}))
    assert sorted(int(r["Claim"]) for r in rows) == sorted(c.pk for c in claims.values() if c.state == "draft")
    assert list(rows[0])[:4] == ["Claim", "Article", "Article address", "Quoted text"]
    mine = next(r for r in rows if int(r["Claim"]) == draft.pk)
    assert mine["Restatement"] == "'=cmd|' /C calc'!A0" and mine["Claimant"] == "'@SUM(1)"
    assert mine["State"] == "Draft" and mine["Author"] == "alice"
    draft.refresh_from_db()
    baghdad = draft.updated_at.astimezone(csvexport.zone_of("Asia/Baghdad")).strftime("%Y-%m-%d %H:%M")
    assert mine["Last changed"] == baghdad
    everything = read_csv(client.get(reverse("claims", args=[desk.slug]), {"download": "csv"}))
    assert len(everything) == len(claims)


def test_the_claims_csv_is_one_query_however_many_rows(client, crew, desk, claims):
    client.force_login(crew["admin"])
    url = reverse("claims", args=[desk.slug])
    client.get(url, {"download": "csv"})
    with expect_queries(*SESSION, DESK, "annotations_profile: my time zone",
                        "annotations_claim: the rows, names joined, from a server-side cursor"):
        rows = read_csv(client.get(url, {"download": "csv"}))
    assert len(rows) == len(claims)


def test_every_list_page_has_its_csv(client, crew, desk, claims, article):
    client.force_login(crew["admin"])
    articles = read_csv(client.get(reverse("article_list", args=[desk.slug]), {"download": "csv"}))
    assert [int(r["Article"]) for r in articles] == [article.pk] and articles[0]["Claims"] == str(len(claims))
    assert read_csv(client.get(reverse("article_list", args=[desk.slug]),
                               {"publisher": "nobody", "download": "csv"})) == []
    queue = read_csv(client.get(reverse("queue", args=[desk.slug]), {"download": "csv"}))
    assert sorted(int(r["Claim"]) for r in queue) == sorted(c.pk for c in claims.values() if c.state == "submitted")
    audit = read_csv(client.get(reverse("audit_log", args=[desk.slug]),
                                {"object_type": "claim", "download": "csv"}))
    assert audit and {r["Object type"] for r in audit} == {"claim"}
    client.force_login(crew["author"])
    mine = read_csv(client.get(reverse("my_claims", args=[desk.slug]), {"download": "csv"}))
    assert len(mine) == len(claims)
    # The audit log is for admins, its CSV too.
    assert client.get(reverse("audit_log", args=[desk.slug]), {"download": "csv"}).status_code == 403
    client.force_login(crew["outsider"])
    assert client.get(reverse("claims", args=[desk.slug]), {"download": "csv"}).status_code == 404
