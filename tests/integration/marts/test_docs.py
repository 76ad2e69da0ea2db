"""The documented example queries answer correctly for a county, a city and the province supervisor; the data
dictionary and the KPI page are complete."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from supervision.marts import kpis
from supervision.marts.dictionary import generate, missing_terms

from .conftest import SCOPES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
DOCS = Path(__file__).resolve().parents[3] / "docs"
QUERIES = re.findall(r"```sql\n(.*?)```", (DOCS / "supervisor-queries.md").read_text(encoding="utf-8"), re.S)
DIVISION_COLUMNS = ("township_code", "division_code", "county_code", "city_code", "province_code")


@pytest.fixture(scope="module")
def lineage(world) -> dict[str, set[str]]:
    return {r[0]: set(r) for r in world.execute(
        "SELECT division_code, county_code, city_code, province_code FROM marts.dim_division")}


def _run(conn, query):
    cur = conn.execute(query)
    return [d.name for d in cur.description], cur.fetchall()


def test_there_are_example_queries():
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("scope", ["county", "city", "province"])
@pytest.mark.parametrize("n", range(len(QUERIES)))
def test_documented_query_answers_within_the_area(world, lineage, as_supervisor, scope, n):
    query = QUERIES[n]
    code = SCOPES[scope]
    cols, rows = _run(as_supervisor(scope), query)
    div = [i for i, c in enumerate(cols) if c in DIVISION_COLUMNS]
    if not div:
        return
    finest = lambda row: next((row[i] for i in div if row[i] is not None), None)  # noqa: E731
    assert all(code in lineage[finest(r).strip()] for r in rows if finest(r)), f"rows outside {code}"
    # Correct figures: exactly the pipeline's answer, restricted to the area.
    _, everything = _run(world, query)
    expected = [r for r in everything if finest(r) is None or code in lineage[finest(r).strip()]]
    if "LIMIT" not in query and "my_scope" not in query:  # my_scope answers for the caller only
        assert rows == expected


@pytest.mark.parametrize("scope", ["county", "city", "province"])
def test_the_one_figure_query_gives_the_hand_computed_value_to_all_three(as_supervisor, scope):
    _, rows = _run(as_supervisor(scope), QUERIES[2])
    assert rows == [("魏都区", "行政复议直接纠错率", Decimal(1), Decimal(2), Decimal("0.5000"))]


def test_the_county_comparison_shows_each_supervisor_its_own_counties(as_supervisor):
    q = next(q for q in QUERIES if "level = 'county' AND city_code = '4110'" in q)
    seen = {s: [r[0] for r in _run(as_supervisor(s), q)[1]] for s in ("county", "city", "province", "other_city")}
    assert seen == {"county": ["411002"], "city": ["411002", "411003"], "province": ["411002", "411003"],
                    "other_city": []}


def test_kpi_page_names_every_measure():
    text = (DOCS / "kpis.md").read_text(encoding="utf-8")
    for k in kpis.catalog():
        name = k.kpi if k.kpi == k.family else k.family
        assert f"`{name}" in text, k.kpi


def test_data_dictionary_is_complete_and_current(world):
    assert missing_terms(world) == []
    committed = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == generate(world), "regenerate: python -m supervision.marts.dictionary > docs/data-dictionary.md"
