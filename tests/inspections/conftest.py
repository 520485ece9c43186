"""Shared helpers of the inspections tests."""
import datetime as dt

import pytest

from equipment.core.actor import SYSTEM, acting_as


@pytest.fixture()
def today():
    from equipment.inspections.obligations import today_local
    return today_local()


@pytest.fixture()
def agency(f):
    return f.org("inspection_agency")


def as_system(fn, **kw):
    with acting_as(SYSTEM):
        return fn(**kw)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)
