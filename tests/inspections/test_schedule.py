"""Due-date arithmetic at its boundaries: month ends, leap years, grades, LPG life."""
import datetime as dt
import json
from pathlib import Path

import pytest

from equipment.inspections import schedule as s
from equipment.inspections.schedule import Facts

D = dt.date
RULES = json.loads((Path(s.__file__).parent / "rules.json").read_text())


@pytest.mark.parametrize("start, months, expected", [
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2023, 3, 31), -1, D(2023, 2, 28)),
    (D(2023, 12, 15), 1, D(2024, 1, 15)),
    (D(2023, 8, 31), 6, D(2024, 2, 29)),
    (D(2023, 1, 1), 0, D(2023, 1, 1)),
    (D(2023, 5, 31), 72, D(2029, 5, 31)),
    (D(2023, 10, 31), 24, D(2025, 10, 31)),
])
def test_add_months_clamps_month_end(start, months, expected):
    assert s.add_months(start, months) == expected


def test_status_boundaries():
    today = D(2025, 3, 1)
    assert s.obligation_status(D(2025, 2, 28), today, 30) == s.OVERDUE
    assert s.obligation_status(D(2025, 3, 1), today, 30) == s.DUE_SOON  # the due day itself is in time
    assert s.obligation_status(D(2025, 3, 31), today, 30) == s.DUE_SOON
    assert s.obligation_status(D(2025, 4, 1), today, 30) == s.OK
    assert s.obligation_status(None, today, 30) is None


def elevator(**kw):
    return s.inspection_due(RULES, Facts(family="elevator", **kw))


def test_elevator_every_12_months_with_month_end_and_leap_day():
    assert elevator(last_date=D(2024, 2, 29)).next_due == D(2025, 2, 28)
    assert elevator(last_date=D(2023, 6, 30)).next_due == D(2024, 6, 30)
    assert elevator(anchor=D(2024, 1, 10)).next_due == D(2025, 1, 10)
    assert elevator().next_due is None


def test_elevator_young_self_testing_interval_is_configurable_and_off_by_default():
    facts = dict(last_date=D(2024, 5, 1), anchor=D(2020, 5, 1), self_testing=True)
    assert elevator(**facts).next_due == D(2025, 5, 1)
    rules = json.loads(json.dumps(RULES))
    rules["elevator.inspection"]["young_self_testing"]["enabled"] = True
    young = s.inspection_due(rules, Facts(family="elevator", **facts))
    assert young.next_due == D(2026, 5, 1)
    # Ten years after commissioning the unit is no longer young: back to 12 months (boundary day).
    old = s.inspection_due(rules, Facts(family="elevator", last_date=D(2030, 5, 1), anchor=D(2020, 5, 1),
                                        self_testing=True))
    assert old.next_due == D(2031, 5, 1)
    almost = s.inspection_due(rules, Facts(family="elevator", last_date=D(2030, 4, 30), anchor=D(2020, 5, 1),
                                           self_testing=True))
    assert almost.next_due == D(2032, 4, 30)
    no_test = s.inspection_due(rules, Facts(family="elevator", last_date=D(2024, 5, 1), anchor=D(2020, 5, 1)))
    assert no_test.next_due == D(2025, 5, 1)


def test_elevator_maintenance_every_15_days():
    assert s.elevator_maintenance_due(RULES, D(2024, 2, 20)) == D(2024, 3, 6)  # across a leap February
    assert s.elevator_maintenance_due(RULES, D(2023, 2, 20)) == D(2023, 3, 7)
    assert s.elevator_maintenance_due(RULES, D(2024, 12, 25)) == D(2025, 1, 9)
    assert s.elevator_maintenance_due(RULES, None) is None
    sets = RULES["elevator.maintenance"]["item_sets"]
    assert set(sets) == {"half_monthly", "quarterly", "semi_annual", "annual"}


def fixed(**kw):
    return s.inspection_due(RULES, Facts(family="pressure_vessel", vessel_type="fixed", **kw))


def test_fixed_vessel_first_within_three_years_then_by_grade():
    assert fixed(anchor=D(2021, 2, 28)).next_due == D(2024, 2, 28)
    assert fixed(anchor=D(2020, 2, 29)).next_due == D(2023, 2, 28)
    assert fixed(last_date=D(2024, 2, 29), grade=1).next_due == D(2030, 2, 28)
    assert fixed(last_date=D(2024, 3, 31), grade=2).next_due == D(2030, 3, 31)
    assert fixed(last_date=D(2024, 3, 31), grade=3).next_due == D(2027, 3, 31)
    assert fixed(last_date=D(2024, 3, 31), grade=3, grade3_months=60).next_due == D(2029, 3, 31)
    assert fixed(last_date=D(2024, 3, 31), grade=3, grade3_months=120).next_due == D(2030, 3, 31)  # clamped to 6 y
    assert fixed(last_date=D(2024, 3, 31), grade=3, grade3_months=12).next_due == D(2027, 3, 31)  # at least 3 y


def test_fixed_vessel_grade_4_monitored_at_most_3_years_in_total_and_grade_5_not_allowed():
    first = fixed(last_date=D(2024, 1, 15), grade=4)
    assert first.next_due == D(2027, 1, 15) and first.data["grade4_since"] == "2024-01-15"
    again = fixed(last_date=D(2025, 6, 1), grade=4, grade4_since=D(2024, 1, 15))
    assert again.next_due == D(2027, 1, 15)  # the total, not 3 more years
    used_up = fixed(last_date=D(2027, 1, 15), grade=4, grade4_since=D(2024, 1, 15))
    assert used_up.allowed is False and used_up.next_due is None and used_up.reason == "grade_4_limit"
    day_before = fixed(last_date=D(2027, 1, 14), grade=4, grade4_since=D(2024, 1, 15))
    assert day_before.allowed and day_before.next_due == D(2027, 1, 15)
    five = fixed(last_date=D(2024, 1, 15), grade=5)
    assert five.allowed is False and five.next_due is None and five.reason == "grade_5"


def test_grade_change_restarts_interval_from_the_new_inspection():
    # grade 2 -> 3 (shorter) -> back to 1 (longer): each computed from its own inspection date
    assert fixed(last_date=D(2020, 8, 31), grade=2).next_due == D(2026, 8, 31)
    assert fixed(last_date=D(2026, 8, 31), grade=3).next_due == D(2029, 8, 31)
    assert fixed(last_date=D(2029, 8, 31), grade=1).next_due == D(2035, 8, 31)


def test_mobile_vessel():
    mobile = dict(family="pressure_vessel", vessel_type="mobile")
    assert s.inspection_due(RULES, Facts(**mobile, anchor=D(2024, 2, 29))).next_due == D(2025, 2, 28)
    assert s.inspection_due(RULES, Facts(**mobile, last_date=D(2024, 1, 31), grade=2)).next_due == D(2029, 1, 31)
    assert s.inspection_due(RULES, Facts(**mobile, last_date=D(2024, 1, 31), grade=3)).next_due == D(2027, 1, 31)
    assert s.inspection_due(RULES, Facts(**mobile, last_date=D(2024, 1, 31), grade=4)).allowed is False
    # category 2200 without a vessel_type attribute is still mobile
    by_cat = s.inspection_due(RULES, Facts(family="pressure_vessel", category_code="2200", anchor=D(2024, 1, 1)))
    assert by_cat.next_due == D(2025, 1, 1)


@pytest.mark.parametrize("gas_class, years", [("corrosive", 2), ("general", 3), ("inert", 5)])
def test_cylinders_by_gas_class(gas_class, years):
    due = s.inspection_due(RULES, Facts(family="gas_cylinder", gas_class=gas_class, manufactured=D(2020, 2, 29)))
    assert due.next_due == D(2020 + years, 2, 28 if (2020 + years) % 4 else 29)
    after = s.inspection_due(RULES, Facts(family="gas_cylinder", gas_class=gas_class,
                                          manufactured=D(2020, 2, 29), last_date=D(2023, 7, 31)))
    assert after.next_due == s.add_months(D(2023, 7, 31), 12 * years)
    scrapped = s.inspection_due(RULES, Facts(family="gas_cylinder", gas_class=gas_class, manufactured=D(2020, 1, 1),
                                             last_date=D(2023, 1, 1), last_passed=False))
    assert scrapped.allowed is False


def lpg(**kw):
    return s.inspection_due(RULES, Facts(family="gas_cylinder", gas_class="lpg", **kw))


def test_lpg_every_four_years_within_an_eight_year_life():
    due = lpg(manufactured=D(2016, 2, 29))
    assert due.next_due == D(2020, 2, 29) and due.life_end == D(2024, 2, 29)
    second = lpg(manufactured=D(2016, 2, 29), last_date=D(2020, 2, 28))
    assert second.life_end == D(2024, 2, 29)
    assert second.next_due == D(2024, 2, 28)  # capped at the last day of life
    assert s.past_life(second.life_end, D(2024, 2, 28)) is False
    assert s.past_life(second.life_end, D(2024, 2, 29)) is True


def test_lpg_pass_near_end_of_life_extends_by_four_never_beyond_twelve():
    made = D(2016, 3, 31)
    window_opens = D(2023, 3, 31)  # 12 months before the 8-year end
    assert lpg(manufactured=made, last_date=D(2023, 3, 30)).life_end == D(2024, 3, 31)
    extended = lpg(manufactured=made, last_date=window_opens)
    assert extended.life_end == D(2028, 3, 31)
    assert extended.next_due == D(2027, 3, 31)
    late = lpg(manufactured=made, last_date=D(2026, 1, 10))  # inspected after the 8-year end
    assert late.life_end == D(2028, 3, 31) and late.next_due == D(2028, 3, 30)
    rules = json.loads(json.dumps(RULES))
    rules["gas_cylinder.lpg"]["extension_years"] = 10
    capped = s.inspection_due(rules, Facts(family="gas_cylinder", gas_class="lpg", manufactured=made,
                                           last_date=D(2024, 3, 1)))
    assert capped.life_end == D(2028, 3, 31)  # max 12 years whatever the extension says
    failed = lpg(manufactured=made, last_date=D(2024, 3, 1), last_passed=False)
    assert failed.allowed is False and failed.life_end == D(2024, 3, 31)


def test_unknown_family_has_no_rule():
    assert s.inspection_due(RULES, Facts(family="boiler")) is None


def test_conclusions():
    assert s.CONCLUSIONS["elevator"]["recheck_fail"][0] == "复检不合格"
    assert s.conclusion_passed("pressure_vessel", "basically_meets") is True
    assert s.conclusion_passed("elevator", "fail") is False
