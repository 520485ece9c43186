def test_rules_seeded_by_migration(db):
    from equipment.inspections import rules
    version, doc = rules.current()
    assert version == 1 and doc["elevator.inspection"]["interval_months"] == 12
