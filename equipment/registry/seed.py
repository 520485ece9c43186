"""Reference data loaded by migrations (a data file, never constants in code)."""
import json
from pathlib import Path

import sqlalchemy as sa

DATA = Path(__file__).resolve().parent / "categories.json"


def seed_categories(op) -> None:
    table = sa.table("categories", sa.column("code"), sa.column("family"), sa.column("parent_code"),
                     sa.column("name_zh"), sa.column("name_en"), sa.column("in_scope"))
    op.bulk_insert(table, json.loads(DATA.read_text(encoding="utf-8")))
