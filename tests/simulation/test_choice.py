"""The pure crew-choice rule shared by live dispatch and the simulation."""
from __future__ import annotations

import pytest

from equipment.emergency.choice import Case, Crew, Policy, State, choose_crew, parse_policy

LAT, LON = 32.06, 118.79
KM = 1 / 111.32  # degrees of latitude per km


def _crew(id_, org, km_north):
    return Crew(id_, org, LAT + km_north * KM, LON)


# contracted unit 1 has eight crews 3-10 km away; unit 2 has one crew 0.5 km away and one 2 km away
BIG = tuple(_crew(i, 1, 2.0 + i) for i in range(1, 9)) + (_crew(20, 2, 0.5), _crew(21, 2, 2.0))


def _ids(choice):
    return [(o.crew_id, o.level) for o in choice.offers]


def test_ladder_starts_with_the_contracted_unit_nearest_crew():
    choice = choose_crew(State(BIG), Case(LAT, LON, 1), Policy("ladder"))
    assert _ids(choice) == [(1, 1)] and not choice.call_119
    assert 2900 < choice.offers[0].distance_m < 3100


def test_ladder_opens_level_two_by_time_whatever_the_unit_size():
    """Seven untried crews remain at unit 1, yet after level2_after_s the next offers go to level 2."""
    state = State(BIG, tried=frozenset({1}), pending=0)
    before = choose_crew(state, Case(LAT, LON, 1, waited_s=299), Policy("ladder", parallel=2))
    assert _ids(before) == [(2, 1)]
    after = choose_crew(state, Case(LAT, LON, 1, waited_s=300), Policy("ladder", parallel=2))
    assert _ids(after) == [(20, 2), (21, 2)]  # parallel offers to the two nearest of other units


def test_ladder_level_two_respects_radius_then_calls_119():
    far = (_crew(1, 1, 3), _crew(30, 2, 12))
    pol = Policy("ladder", radius_m=10_000)
    assert _ids(choose_crew(State(far, tried=frozenset({1})), Case(LAT, LON, 1, waited_s=10), pol)) == []
    assert choose_crew(State(far, tried=frozenset({1})), Case(LAT, LON, 1, waited_s=10), pol).call_119
    # an offer still open: the brigade waits for its answer (or the 30-minute watchdog)
    assert not choose_crew(State(far, tried=frozenset({1}), pending=1), Case(LAT, LON, 1), pol).call_119


def test_contract_never_leaves_the_unit():
    pol = Policy("contract")
    assert _ids(choose_crew(State(BIG), Case(LAT, LON, 1, waited_s=9999), pol)) == [(1, 1)]
    only_others = State(BIG, tried=frozenset(range(1, 9)))
    choice = choose_crew(only_others, Case(LAT, LON, 1), pol)
    assert choice.offers == () and choice.call_119 and choice.level == 3


def test_eta_sends_another_unit_only_beyond_the_slack():
    # crew 1 is 3 km away, crew 20 0.5 km: 2.5 km x 1.35 at 32 km/h = 6.3 min better
    noon = Case(LAT, LON, 1, hour=12)
    assert _ids(choose_crew(State(BIG), noon, parse_policy("eta(10)"))) == [(1, 1)]
    assert _ids(choose_crew(State(BIG), noon, parse_policy("eta(5)"))) == [(20, 2)]
    assert _ids(choose_crew(State(BIG), noon, parse_policy("eta(6.4)"))) == [(1, 1)]


def test_pool_takes_the_nearest_crew_of_any_unit():
    assert _ids(choose_crew(State(BIG), Case(LAT, LON, 1), Policy("pool"))) == [(20, 2)]
    assert _ids(choose_crew(State(BIG), Case(LAT, LON, 2), Policy("pool"))) == [(20, 1)]


def test_ties_are_broken_by_crew_id_and_input_order_does_not_matter():
    twins = (_crew(7, 1, 1.0), _crew(3, 1, 1.0))
    for crews in (twins, twins[::-1]):
        assert _ids(choose_crew(State(crews), Case(LAT, LON, 1), Policy())) == [(3, 1)]


def test_unit_without_contract_goes_to_level_two_at_once():
    assert _ids(choose_crew(State(BIG), Case(LAT, LON, None), Policy("ladder"))) == [(20, 2)]


@pytest.mark.parametrize("bad", [{"name": "nearest"}, {"parallel": 0}, {"level2_after_s": -1},
                                 {"slack_min": -2}, {"radius_m": 0}])
def test_bad_policies_are_refused(bad):
    with pytest.raises(ValueError):
        Policy(**bad)
    with pytest.raises(ValueError):
        parse_policy("eta(x)")
