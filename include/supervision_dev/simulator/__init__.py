"""County-submission simulator: nights of file drops in contract v1 layout, with injected faults and the truth.

    from supervision_dev.simulator import FaultProfile, simulate_night
    report = simulate_night(registry, date(2026, 11, 22), drop_root,
                            faults=FaultProfile.default(registry.codes))

writes ``<drop_root>/<county>/<date>/{manifest.json, <record_type>.csv|.xlsx|.json}`` and the truth
(``SimulationReport``) to ``<drop_root>/_simulation/<date>.json``. Modules: ``records`` (volumes, record
life cycles, re-sends), ``county`` (agencies, townships, file habits), ``people`` (names and identifiers),
``faults`` (fault profile, rule catalogue, bad rows), ``writers``/``xlsx`` (file formats), ``night``; for
HTTP API and database counties ``systems`` (``CountySystems``: ``api_server``, a local HTTP server, and
``county_db``, the counties' own databases, with transport faults).
"""

from supervision_dev.simulator.faults import FAULTS, FaultProfile, bad_row_plan, rule_ids_for
from supervision_dev.simulator.night import TRUTH_DIR, simulate_night, simulate_nights
from supervision_dev.simulator.report import CountyTruth, FileTruth, SimulationReport
from supervision_dev.simulator.systems import SOURCE_FAULTS, CountySystems, SourceFaultProfile

__all__ = [
    "FAULTS", "SOURCE_FAULTS", "TRUTH_DIR", "CountySystems", "CountyTruth", "FaultProfile", "FileTruth",
    "SimulationReport", "SourceFaultProfile", "bad_row_plan", "rule_ids_for", "simulate_night", "simulate_nights",
]
