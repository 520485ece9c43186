"""CSV/XLSX import of an existing registry (all or nothing) and CSV export.

Columns: category, device_code, registration_code, use_certificate_no, rescue_code, cylinder_code,
address, district_code, lat, lon, user_org_code, maintenance_org_code, maker_org_code, status,
and attr.<name> for category attributes. Organisations are referenced by credit code, as in real registries.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import select

from equipment.core.db import atomic
from equipment.core.errors import AppError
from equipment.core.geo import lat_lon
from equipment.extensions import db
from equipment.registry import history
from equipment.registry.models import Equipment, Organization
from equipment.registry.schemas import EquipmentIn
from equipment.registry.published import visible_clause
from equipment.registry.tags import issue_tag
from equipment.registry.units import build_equipment, ids_of

BASE_COLUMNS = ["category", "device_code", "registration_code", "use_certificate_no", "rescue_code",
                "cylinder_code", "address", "district_code", "lat", "lon", "user_org_code",
                "maintenance_org_code", "maker_org_code", "status"]
UNIQUE = ("device_code", "registration_code", "rescue_code", "cylinder_code")
MAX_ROWS = 200_000


@dataclass
class Report:
    rows: int = 0
    imported: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row": n, "errors": {field: [msg]}}

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "ok": self.ok, "errors": self.errors}


class ImportRejected(AppError):
    status, code = 422, "import_rejected"


def read_rows(data: bytes, filename: str = "upload.csv") -> list[dict]:
    if filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel on a Chinese desktop saves
        except UnicodeDecodeError:
            raise ImportRejected("File is not UTF-8 or GB18030 text") from None
    try:  # csv.Error: a field beyond the csv module's size limit, ...
        return _csv_rows(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ImportRejected(f"Malformed CSV: {err}") from None


def _csv_rows(reader) -> list[dict]:
    if not reader.fieldnames or "category" not in reader.fieldnames:
        raise ImportRejected("Missing header row with at least a 'category' column",
                             details={"columns": BASE_COLUMNS})
    rows = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise ImportRejected(f"More than {MAX_ROWS} rows; split the file")
        rows.append({_unescape(k): _unescape((v or "").strip()) for k, v in row.items() if k is not None})
    return rows


def _read_xlsx(data: bytes) -> list[dict]:
    import openpyxl
    try:  # read-only workbooks parse lazily: a damaged sheet fails while iterating, not when opened
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        it = sheet.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(it, [])]
        if "category" not in header:
            raise ImportRejected("Missing header row with at least a 'category' column")
        rows = []
        for r in it:
            if len(rows) >= MAX_ROWS:
                raise ImportRejected(f"More than {MAX_ROWS} rows; split the file")
            rows.append({h: ("" if v is None else str(v).strip()) for h, v in zip(header, r)})
        return rows
    except ImportRejected:
        raise
    except Exception:
        raise ImportRejected("Not a readable XLSX workbook") from None


def _org_ids(rows: list[dict]) -> dict[str, int]:
    codes = {r.get(k) for r in rows for k in ("user_org_code", "maintenance_org_code", "maker_org_code")}
    codes = {c for c in codes if c and "\x00" not in c}
    found = db.session.execute(select(Organization.code, Organization.id).where(Organization.code.in_(codes)))
    return dict(found.all())


def _to_payload(row: dict, orgs: dict[str, int]) -> tuple[dict, dict]:
    errors: dict = {}
    payload = {k: row.get(k) or None for k in ("category", "device_code", "registration_code",
                                                "use_certificate_no", "rescue_code", "cylinder_code",
                                                "address", "district_code", "status")}
    payload = {k: v for k, v in payload.items() if v is not None}
    if row.get("lat") or row.get("lon"):
        payload["location"] = {"lat": row.get("lat"), "lon": row.get("lon")}
    for col, key in (("user_org_code", "user_org_id"), ("maintenance_org_code", "maintenance_org_id"),
                     ("maker_org_code", "maker_org_id")):
        code = row.get(col)
        if code:
            if code in orgs:
                payload[key] = orgs[code]
            else:
                errors[col] = ["unknown organisation credit code"]
    payload["attributes"] = {k[5:]: v for k, v in row.items() if k.startswith("attr.") and v != ""}
    return payload, errors


def validate_rows(rows: list[dict], progress=None) -> tuple[Report, list[Equipment]]:
    report, units, seen = Report(rows=len(rows)), [], {k: {} for k in UNIQUE}
    orgs = _org_ids(rows)
    for n, row in enumerate(rows, start=2):  # row 1 is the header, as a spreadsheet shows it
        unit, errors = _validate_row(row, orgs)
        for key in UNIQUE:
            value = getattr(unit, key, None) if unit is not None else None
            if value and value in seen[key]:
                errors.setdefault(key, []).append(f"duplicate of row {seen[key][value]}")
            elif value:
                seen[key][value] = n
        if errors:
            report.errors.append({"row": n, "errors": errors})
        elif unit is not None:
            units.append(unit)
        if progress:
            progress(1)
    _check_existing(units, report, seen)
    return report, units


def _validate_row(row: dict, orgs: dict) -> tuple[Equipment | None, dict]:
    nul = [k for k, v in row.items() if "\x00" in (k or "") or "\x00" in (v or "")]
    if nul:
        return None, {k.replace("\x00", ""): ["contains a NUL character"] for k in nul}
    payload, errors = _to_payload(row, orgs)
    try:
        data = EquipmentIn().load(payload)
    except ValidationError as err:
        errors.update(err.normalized_messages())
        return None, errors
    if errors:
        return None, errors
    try:
        return build_equipment(data), {}
    except AppError as err:
        return None, err.details or {"_row": [err.message]}


def _check_existing(units: list[Equipment], report: Report, seen: dict) -> None:
    for key in UNIQUE:
        values = [getattr(u, key) for u in units if getattr(u, key)]
        column = getattr(Equipment, key)
        for start in range(0, len(values), 1000):
            chunk = values[start:start + 1000]
            for taken in db.session.scalars(select(column).where(column.in_(chunk))):
                report.errors.append({"row": seen[key][taken], "errors": {key: ["already registered"]}})
    report.errors.sort(key=lambda e: e["row"])


@atomic
def import_rows(*, rows: list[dict], progress=None) -> Report:
    """Validate everything first; write only if every row is good."""
    report, units = validate_rows(rows, progress=progress)
    if not report.ok:
        return report
    db.session.add_all(units)
    db.session.flush()
    for unit in units:
        history.append(equipment_id=unit.id, kind="registered",
                       data={"category": unit.category_code, "address": unit.address, "status": unit.status,
                             "source": "import", **ids_of(unit)})
        issue_tag(equipment_id=unit.id)
    report.imported = len(units)
    return report


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), =cmd|...): such text
# cells are written with a leading apostrophe (OWASP CSV injection), which the importer strips again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def export_csv(stream, *, actor, progress=None) -> int:
    """Stream every visible unit as CSV in the import format (so an export re-imports)."""
    orgs = dict(db.session.execute(select(Organization.id, Organization.code)).all())
    visible = visible_clause(actor)
    # Only the attribute names of units this caller may see: another organisation's keys are its data too.
    attr_keys = sorted({k for (attrs,) in db.session.execute(select(Equipment.attributes).where(visible))
                        for k in (attrs or {})})
    writer = csv.writer(stream)
    writer.writerow([csv_cell(h) for h in BASE_COLUMNS + [f"attr.{k}" for k in attr_keys]])
    count = 0
    stmt = select(Equipment).where(visible).order_by(Equipment.id)
    for unit in db.session.scalars(stmt.execution_options(yield_per=1000)):
        loc = lat_lon(unit.location) or {}
        row = [unit.category_code, unit.device_code, unit.registration_code, unit.use_certificate_no,
               unit.rescue_code, unit.cylinder_code, unit.address, unit.district_code,
               loc.get("lat", ""), loc.get("lon", ""), orgs.get(unit.user_org_id, ""),
               orgs.get(unit.maintenance_org_id, ""), orgs.get(unit.maker_org_id, ""), unit.status]
        writer.writerow([csv_cell(v) for v in row + [(unit.attributes or {}).get(k, "") for k in attr_keys]])
        count += 1
        if progress:
            progress(1)
    return count
