"""Partner marketing through the real PostgREST: partner A never reads or changes partner B's
marketing data (its campaigns' money included), admins see everything, signed-in callers without a
partner or admin profile nothing (403 from the RPCs), anon nothing; bad input, over-long input
included, gets a 4xx with a message and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from postgrest import SyncPostgrestClient

from tests.support import NOT_PARTNER_OR_ADMIN, RestClients, create_segment
from tests.support.api import http
from tests.support.partner_marketing import TwoPartners, seed_two_partners

OWN_TABLES = [
    "partner_segments",
    "partner_landing_pages",
    "partner_marketing_campaigns",
    "partner_lead_gaps",
    "ai_marketing_recommendations",
    "partner_marketing_profiles",
]


@pytest.fixture
def mk(rest: RestClients, committed: psycopg.Connection) -> TwoPartners:
    seg = create_segment(committed, "schilder", "noord-brabant")
    other = create_segment(committed, "dakdekker", "utrecht")
    return seed_two_partners(committed, rest, seg, other)


def _partner_ids(client: SyncPostgrestClient, table: str) -> set[str]:
    return {row["partner_id"] for row in client.from_(table).select("partner_id").execute().data}


@pytest.mark.parametrize("table", OWN_TABLES)
def test_partners_read_only_their_own_rows_admins_all_anon_nothing(mk: TwoPartners, table: str) -> None:
    a, b = str(mk.rest.partner_id), str(mk.rest.other_partner_id)
    assert _partner_ids(mk.rest.partner, table) == {a}
    assert _partner_ids(mk.rest.other_partner, table) == {b}
    assert _partner_ids(mk.rest.admin, table) >= {a, b}
    response = http(mk.rest.anon, "GET", f"/{table}")
    assert response.status_code == 401 or response.json() == []


@pytest.mark.parametrize("who", NOT_PARTNER_OR_ADMIN)
def test_a_signed_in_caller_without_a_partner_profile_gets_nothing(mk: TwoPartners, who: str) -> None:
    client = getattr(mk.rest, who)
    for table in [*OWN_TABLES, "segment_partner_marketing"]:
        response = http(client, "GET", f"/{table}")
        assert (response.status_code, response.json()) == (200, []), (table, response.text)
    own_rec = str(mk.rec[mk.rest.partner_id])
    for rpc, body in [
        ("update_marketing_profile", {"partner_id": str(mk.rest.partner_id), "marketing_mode": "hybrid"}),
        ("publish_landing_page", {"id": str(mk.page[mk.rest.partner_id])}),
        ("approve_marketing_recommendation", {"id": own_rec}),
        ("reject_marketing_recommendation", {"id": own_rec}),
    ]:
        response = http(client, "POST", f"/rpc/{rpc}", json=body)
        assert response.status_code == 403, (rpc, response.text)
        assert response.json()["message"] == f"{rpc} needs a partner or admin profile"
    # Nor can it write a row of its own.
    response = http(client, "POST", "/partner_landing_pages", json={"path": "/ik/ook"})
    assert 400 <= response.status_code < 500 and response.status_code != 201, response.text


def test_a_partner_sees_its_own_campaigns_money_and_no_other_partners(mk: TwoPartners) -> None:
    a, b = mk.rest.partner_id, mk.rest.other_partner_id
    fields = "id,daily_budget,monthly_budget,total_spend,avg_cpl"
    mine = mk.rest.partner.from_("partner_marketing_campaigns").select(fields).execute().data
    assert [(r["id"], float(r["daily_budget"])) for r in mine] == [(str(mk.campaign[a]), 100.0)]
    theirs = (
        mk.rest.partner.from_("partner_marketing_campaigns")
        .select(fields)
        .eq("id", str(mk.campaign[b]))
        .execute()
        .data
    )
    assert theirs == []
    # Money per segment across partners (segment_partner_marketing) is the admin's only.
    assert mk.rest.partner.from_("segment_partner_marketing").select("*").execute().data == []
    rows = (
        mk.rest.admin.from_("segment_partner_marketing").select("partner_id,campaigns_daily_budget").execute()
    )
    assert {(r["partner_id"], float(r["campaigns_daily_budget"])) for r in rows.data} == {
        (str(a), 100.0),
        (str(b), 100.0),
    }


def test_a_partner_cannot_change_another_partners_rows(
    mk: TwoPartners, committed: psycopg.Connection
) -> None:
    b = mk.rest.other_partner_id
    p = mk.rest.partner
    # PATCH on B's rows matches nothing for A.
    for table, change, row_id in [
        ("partner_landing_pages", {"title": "hijacked"}, mk.page[b]),
        ("partner_marketing_campaigns", {"name": "x"}, mk.campaign[b]),
        ("profiles", {"brand_color": "#000000"}, b),
    ]:
        assert p.from_(table).update(change).eq("id", str(row_id)).execute().data == [], table
    # Rows created for B are refused by RLS.
    for table, body in [
        ("partner_landing_pages", {"partner_id": str(b), "path": "/evil/page"}),
        ("partner_segments", {"partner_id": str(b), "segment_id": str(mk.segment)}),
        ("partner_marketing_campaigns", {"partner_id": str(b), "channel": "meta"}),
    ]:
        response = http(p, "POST", f"/{table}", json=body)
        assert response.status_code == 403, (table, response.text)
    # The RPCs refuse too.
    response = http(
        p, "POST", "/rpc/update_marketing_profile", json={"partner_id": str(b), "brand_color": "#000000"}
    )
    assert response.status_code == 403 and "your own marketing profile" in response.json()["message"]
    for fn, body in [
        ("approve_marketing_recommendation", {"id": str(mk.rec[b])}),
        ("reject_marketing_recommendation", {"id": str(mk.rec[b]), "reason": "nope"}),
    ]:
        response = http(p, "POST", f"/rpc/{fn}", json=body)
        assert response.status_code == 400 and "does not exist" in response.json()["message"]
    response = http(p, "POST", "/rpc/publish_landing_page", json={"id": str(mk.page[b])})
    assert response.status_code == 400
    # Nothing of B's changed.
    assert committed.execute(
        "select title, status from partner_landing_pages where id = %s", (mk.page[b],)
    ).fetchone() == ("Schilder", "draft")
    assert committed.execute("select brand_color from profiles where id = %s", (b,)).fetchone() == (
        "#112233",
    )
    assert committed.execute(
        "select status from ai_marketing_recommendations where id = %s", (mk.rec[b],)
    ).fetchone() == ("pending",)
    assert committed.execute("select count(*) from channel_orchestration_log").fetchone() == (0,)


def test_a_partner_cannot_make_itself_admin_or_touch_totals(
    mk: TwoPartners, committed: psycopg.Connection
) -> None:
    p = mk.rest.partner
    for table, key, body in [
        ("profiles", mk.rest.partner_id, {"is_admin": True}),
        ("profiles", mk.rest.partner_id, {"routing_priority": 999}),
        ("partner_marketing_campaigns", mk.campaign[mk.rest.partner_id], {"total_leads": 999}),
        ("partner_marketing_campaigns", mk.campaign[mk.rest.partner_id], {"daily_budget": 999}),
        ("partner_landing_pages", mk.page[mk.rest.partner_id], {"views_count": 999}),
    ]:
        response = http(p, "PATCH", f"/{table}?id=eq.{key}", json=body)
        assert response.status_code in (401, 403), (table, body, response.text)
    assert committed.execute(
        "select is_admin, routing_priority from profiles where id = %s", (mk.rest.partner_id,)
    ).fetchone() == (False, 0)


def test_the_partner_uses_its_own_marketing_endpoints(mk: TwoPartners, committed: psycopg.Connection) -> None:
    p = mk.rest.partner
    me = str(mk.rest.partner_id)
    profile = (
        p.rpc(
            "update_marketing_profile",
            {"marketing_mode": "full_marketing", "brand_color": "#AbCdEf", "monthly_marketing_budget": 750},
        )
        .execute()
        .data
    )
    assert (profile["partner_id"], profile["marketing_mode"], profile["brand_color"]) == (
        me,
        "full_marketing",
        "#AbCdEf",
    )
    assert Decimal(str(profile["monthly_marketing_budget"])) == Decimal("750")
    # Add a segment (partner_id comes from the JWT), a page, update and publish it, a campaign.
    seg = (
        p.from_("partner_segments")
        .insert({"segment_id": str(mk.other_segment), "priority": 3})
        .execute()
        .data[0]
    )
    assert seg["partner_id"] == me and seg["priority"] == 3
    page = (
        p.from_("partner_landing_pages")
        .insert({"segment_id": str(mk.segment), "path": "/schilder/breda"})
        .execute()
        .data[0]
    )
    p.from_("partner_landing_pages").update({"title": "Schilder in Breda"}).eq("id", page["id"]).execute()
    published = p.rpc("publish_landing_page", {"id": page["id"]}).execute().data
    assert published["status"] == "published" and published["published_at"]
    camp = (
        p.from_("partner_marketing_campaigns")
        .insert({"channel": "meta", "name": "Meta leads", "daily_budget": 25})
        .execute()
        .data[0]
    )
    assert camp["partner_id"] == me and Decimal(str(camp["total_spend"])) == 0
    # The admin's segment view shows the partner in both segments; the partner's shows nothing.
    rows = mk.rest.admin.from_("segment_partner_marketing").select("*").eq("partner_id", me).execute().data
    assert {r["segment_id"] for r in rows} == {str(mk.segment), str(mk.other_segment)}
    assert mk.rest.partner.from_("segment_partner_marketing").select("*").execute().data == []


def test_approval_through_the_api_queues_one_change(mk: TwoPartners, committed: psycopg.Connection) -> None:
    rec = str(mk.rec[mk.rest.partner_id])
    approved = mk.rest.partner.rpc("approve_marketing_recommendation", {"id": rec}).execute().data
    assert approved["status"] == "approved"
    response = http(mk.rest.partner, "POST", "/rpc/approve_marketing_recommendation", json={"id": rec})
    assert response.status_code == 400 and "already approved" in response.json()["message"]
    rows = committed.execute(
        "select status, old_value, new_value, partner_campaign_id from channel_orchestration_log"
    ).fetchall()
    assert rows == [("pending", Decimal("100.00"), Decimal("110.00"), mk.campaign[mk.rest.partner_id])]
    # The admin decides any partner's recommendation.
    other = str(mk.rec[mk.rest.other_partner_id])
    assert (
        mk.rest.admin.rpc("reject_marketing_recommendation", {"id": other, "reason": "later"})
        .execute()
        .data["status"]
        == "rejected"
    )
    response = http(mk.rest.anon, "POST", "/rpc/approve_marketing_recommendation", json={"id": other})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/partner_landing_pages", {"path": "/schilder/../admin"}, "path must be a safe URL path"),
        ("POST", "/partner_landing_pages", {"path": "/schilder eindhoven"}, "path must be a safe URL path"),
        ("POST", "/partner_landing_pages", {"path": "/Schilder"}, "path must be a safe URL path"),
        (
            "POST",
            "/rpc/update_marketing_profile",
            {"marketing_mode": "full_marketing", "brand_color": "red"},
            "brand_color must be a hex colour",
        ),
        (
            "POST",
            "/rpc/update_marketing_profile",
            {"marketing_mode": "full_marketing", "monthly_marketing_budget": -5},
            "monthly_marketing_budget must be 0 or more",
        ),
        (
            "POST",
            "/rpc/update_marketing_profile",
            {"marketing_mode": "aggressive"},
            "marketing_mode must be one of",
        ),
        ("PATCH", "/profiles?id=eq.{me}", {"brand_color": "red"}, "brand_color must be a hex colour"),
        (
            "POST",
            "/partner_marketing_campaigns",
            {"channel": "meta", "daily_budget": -1},
            "budgets must be 0 or more",
        ),
        (
            "POST",
            "/partner_marketing_campaigns",
            {"channel": "google_ads", "external_campaign_id": "42"},
            "needs a numeric external_campaign_id",
        ),
        (
            "POST",
            "/partner_segments",
            {"segment_id": "{seg}", "priority": 0},
            "priority must be between 1 and 100",
        ),
        ("POST", "/rpc/reject_marketing_recommendation", {"id": "not-a-uuid"}, "uuid"),
        # Bounds: generous for a person, useless to an attacker.
        (
            "POST",
            "/partner_landing_pages",
            {"path": "/schilder/groot", "content_json": {"blocks": ["x" * 300_000]}},
            "content_json is 300016 bytes as JSON; at most 262144 (256 kB) are allowed",
        ),
        (
            "PATCH",
            "/partner_landing_pages?partner_id=eq.{me}",
            {"content_json": {"blocks": ["x" * 300_000]}},
            "at most 262144 (256 kB) are allowed",
        ),
        (
            "POST",
            "/partner_landing_pages",
            {"path": "/schilder/titel", "title": "t" * 201},
            "title is 201 characters long; at most 200",
        ),
        (
            "POST",
            "/partner_landing_pages",
            {"path": "/schilder/seo", "seo_description": "s" * 1001},
            "seo_description is 1001 characters long; at most 1000",
        ),
        (
            "POST",
            "/partner_marketing_campaigns",
            {"channel": "meta", "name": "n" * 201},
            "name is 201 characters long; at most 200",
        ),
        (
            "POST",
            "/partner_marketing_campaigns",
            {
                "channel": "google_ads",
                "external_campaign_id": "42",
                "customer_id": "1234567890",
                "budget_resource_name": "customers/1234567890/campaignBudgets/" + "9" * 100,
            },
            "budget_resource_name is 137 characters long; at most 100",
        ),
        (
            "POST",
            "/rpc/update_marketing_profile",
            {"preferred_channels": ["meta"] * 9},
            "preferred_channels may hold at most 8 channels; got 9",
        ),
        (
            "POST",
            "/rpc/update_marketing_profile",
            {"tone_of_voice": "v" * 2001},
            "tone_of_voice must be at most 2000 characters",
        ),
        (
            "POST",
            "/rpc/reject_marketing_recommendation",
            {"id": "{rec}", "reason": "r" * 2001},
            "reason must be at most 2000 characters",
        ),
    ],
)
def test_bad_input_is_a_4xx_with_a_message_and_writes_nothing(
    mk: TwoPartners, committed: psycopg.Connection, method: str, path: str, body: dict, message: str
) -> None:
    me = str(mk.rest.partner_id)
    rec = mk.rec[mk.rest.partner_id]
    body = {
        k: (v.format(seg=mk.other_segment, rec=rec) if isinstance(v, str) and len(v) < 100 else v)
        for k, v in body.items()
    }
    before = committed.execute(
        "select (select to_jsonb(p) - 'updated_at' from profiles p where id = %s), "
        "(select count(*) from partner_landing_pages), (select count(*) from partner_marketing_campaigns), "
        "(select count(*) from partner_segments)",
        (me,),
    ).fetchone()
    response = http(mk.rest.partner, method, path.format(me=me), json=body)
    assert 400 <= response.status_code < 500, response.text
    assert message in response.json()["message"]
    after = committed.execute(
        "select (select to_jsonb(p) - 'updated_at' from profiles p where id = %s), "
        "(select count(*) from partner_landing_pages), (select count(*) from partner_marketing_campaigns), "
        "(select count(*) from partner_segments)",
        (me,),
    ).fetchone()
    assert after == before


def test_content_up_to_256_kb_is_accepted(mk: TwoPartners) -> None:
    page = {"path": "/schilder/lang", "content_json": {"blocks": ["x" * 262_000]}}
    response = http(mk.rest.partner, "POST", "/partner_landing_pages", json=page)
    assert response.status_code == 201, response.text[:300]


def test_approval_after_expiry_is_a_4xx(mk: TwoPartners, committed: psycopg.Connection) -> None:
    rec = mk.rec[mk.rest.partner_id]
    committed.execute(
        "update ai_marketing_recommendations set expires_at = now() - interval '1 second' where id = %s",
        (rec,),
    )
    response = http(mk.rest.partner, "POST", "/rpc/approve_marketing_recommendation", json={"id": str(rec)})
    assert response.status_code == 400 and "expired" in response.json()["message"]
    assert committed.execute("select count(*) from channel_orchestration_log").fetchone() == (0,)


def test_a_partner_sees_what_became_of_its_approvals_in_its_view_and_its_alerts(
    mk: TwoPartners, committed: psycopg.Connection
) -> None:
    """A's approved budget change fails in the worker, B's ends as a conflict: each partner reads its
    own outcome (and why) and gets its own alert; the admin's alerts carry the segment and partner."""
    a, b = mk.rest.partner_id, mk.rest.other_partner_id
    mk.rest.partner.rpc("approve_marketing_recommendation", {"id": str(mk.rec[a])}).execute()
    mk.rest.admin.rpc("approve_marketing_recommendation", {"id": str(mk.rec[b])}).execute()
    waiting = mk.rest.partner.from_("marketing_recommendation_outcomes").select("outcome").execute().data
    assert waiting == [{"outcome": "waiting"}]
    claimed = dict(committed.execute(
        "select partner_campaign_id, id from lead_flow.claim_budget_changes('w', 10)").fetchall())
    complete = "select lead_flow.complete_budget_change(%s, %s, null, 'req', %s, %s, %s)"
    committed.execute(complete, (claimed[mk.campaign[a]], "failed", "budget removed",
                                 "mutate_error.RESOURCE_NOT_FOUND", None))
    committed.execute(complete, (claimed[mk.campaign[b]], "conflict", "edited by hand",
                                 "LIVE_BUDGET_CHANGED", 95))

    for client, who, outcome, message in ((mk.rest.partner, a, "failed", "budget removed"),
                                          (mk.rest.other_partner, b, "conflict", "edited by hand")):
        rows = client.from_("marketing_recommendation_outcomes").select("*").execute().data
        assert [(r["recommendation_id"], r["outcome"], r["error_message"]) for r in rows] == [
            (str(mk.rec[who]), outcome, message)]
        alerts = client.from_("lead_flow_alerts").select("*").execute().data
        assert [(x["kind"], x["details"]["partner_id"]) for x in alerts] == [
            (f"budget_change_{outcome}", str(who))]
        assert alerts[0]["segment_id"] == str(mk.segment if who == a else mk.other_segment)
        assert message in alerts[0]["message"]
    live = [client.from_("marketing_recommendation_outcomes").select("live_value").execute().data
            for client in (mk.rest.partner, mk.rest.other_partner)]
    assert live == [[{"live_value": None}], [{"live_value": 95}]]

    admin_alerts = (mk.rest.admin.from_("lead_flow_alerts").select("*").like("kind", "budget_change_%")
                    .execute().data)
    assert sorted((x["segment_id"], x["details"]["partner_id"]) for x in admin_alerts) == sorted(
        [(str(mk.segment), str(a)), (str(mk.other_segment), str(b))])
    assert len(mk.rest.admin.from_("marketing_recommendation_outcomes").select("*").execute().data) == 2
    for who in NOT_PARTNER_OR_ADMIN:
        for view in ("marketing_recommendation_outcomes", "lead_flow_alerts"):
            response = http(getattr(mk.rest, who), "GET", f"/{view}")
            assert (response.status_code, response.json()) == (200, []), (who, view)
    assert http(mk.rest.anon, "GET", "/marketing_recommendation_outcomes").status_code == 401
