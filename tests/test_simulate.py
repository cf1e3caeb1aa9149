"""A short simulation through the real nightly loop and the worker: no change ever breaks the limits."""

from __future__ import annotations

import datetime

import psycopg
import pytest

from glue import simulate as sm
from glue.fake_google_ads import FakeGoogleAds, start_fake_google_ads, trust_certificate
from glue.stack import Stack

CFG = sm.SimConfig(seed=5, days=8, history_days=21, branches=3, regions=4, partners=50)


@pytest.fixture(scope="module")
def runs(stack: Stack) -> dict[str, sm.RunResult]:
    """Both controllers on copies of one small seeded marketplace (databases dropped afterwards)."""
    first_day = datetime.date.today() - datetime.timedelta(days=CFG.days + 1)
    seed_url = sm.create_database(stack.database_url, "simulate_test_seed")
    mp = sm.prepare(seed_url, FakeGoogleAds(seed=CFG.seed), CFG, first_day, lambda _: None)
    results = {}
    try:
        for controller in sm.CONTROLLERS:
            url = sm.create_database(
                stack.database_url, f"simulate_test_{controller}", template="simulate_test_seed"
            )
            server = start_fake_google_ads(seed=CFG.seed)
            trust_certificate(server.cert_path)
            try:
                sm.replicate_campaigns(server.state, mp)
                results[controller] = sm.Simulation(
                    url, server, mp, controller, CFG.days, lambda _: None
                ).run()
                with psycopg.connect(url) as conn:
                    results[controller].log = conn.execute(  # type: ignore[attr-defined]
                        "select controller, status, count(*) from public.channel_orchestration_log "
                        "group by 1, 2"
                    ).fetchall()
            finally:
                server.stop()
    finally:
        with psycopg.connect(sm.database_url(stack.database_url, "postgres"), autocommit=True) as conn:
            for name in ("simulate_test_seed", "simulate_test_spec", "simulate_test_smart"):
                conn.execute(f'drop database if exists "{name}" with (force)')
    return results


@pytest.mark.parametrize("controller", sm.CONTROLLERS)
def test_no_applied_change_breaks_the_safety_limits(runs: dict[str, sm.RunResult], controller: str) -> None:
    result = runs[controller]
    assert result.violations == []
    assert len({r.code for r in result.rows}) == CFG.branches * CFG.regions
    assert {r.day for r in result.rows} == {
        result.first_day + datetime.timedelta(days=n) for n in range(CFG.days)
    }
    changed = [r for r in result.rows if abs(r.next_budget - r.budget) >= 0.005]
    assert changed, "the controller changed no budget at all"
    for r in changed:
        assert r.budget * 0.8 - 0.005 <= r.next_budget <= r.budget * 1.2 + 0.005
        assert 5 <= r.next_budget <= 1000
    assert sm.score(result).violations == 0


@pytest.mark.parametrize("controller", sm.CONTROLLERS)
def test_changes_went_through_the_worker_with_the_chosen_controller(
    runs: dict[str, sm.RunResult], controller: str
) -> None:
    log = runs[controller].log  # type: ignore[attr-defined]
    assert {c for c, _, _ in log} == {controller}
    assert {s for _, s, _ in log} == {"success"}


def test_the_market_is_the_same_for_both_controllers(runs: dict[str, sm.RunResult]) -> None:
    spec, smart = runs["spec"], runs["smart"]
    first = {(r.code, r.day): r for r in spec.rows if r.day == spec.first_day}
    for r in smart.rows:
        if r.day == smart.first_day:
            # Same start budgets and same first day (before either controller acted).
            assert (r.budget, r.leads, r.target) == (
                first[(r.code, r.day)].budget,
                first[(r.code, r.day)].leads,
                first[(r.code, r.day)].target,
            )
    assert smart.kinds == spec.kinds
