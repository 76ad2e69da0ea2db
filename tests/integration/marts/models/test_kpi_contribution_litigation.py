"""The litigation measures: models litigation_case_derived, litigation_case_detail and
kpi_contribution_litigation.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

import pytest

from ..marts_support import count, kpi, ratio

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_litigation_rates(world):
    assert kpi(world, "411002", "year", "2026-01-01", "litigation_loss_rate") == ratio(1, 2)  # L1 lost, L2 won
    assert kpi(world, "411002", "month", "2026-06-01", "litigation_loss_rate") == ratio(1, 1)
    assert kpi(world, "411002", "month", "2026-07-01", "litigation_loss_rate") == ratio(0, 1)
    assert kpi(world, "4110", "year", "2026-01-01", "litigation_loss_rate") == ratio(1, 3)  # L4 withdrawn counts
    assert kpi(world, "41", "year", "2026-01-01", "litigation_loss_rate") == ratio(2, 4)
    assert kpi(world, "411002", "year", "2026-01-01", "head_appearance_rate") == ratio(1, 3)
    assert kpi(world, "411002", "month", "2026-04-01", "head_appearance_rate") == ratio(1, 2)
    assert kpi(world, "411002", "year", "2026-01-01", "head_appearance_rate_required") == ratio(1, 2)
    # L1 replied within 60 days of its judgment; L2's 60 days ended 08-30 without a reply.
    assert kpi(world, "411002", "month", "2026-08-01", "judicial_suggestion_reply_rate") == ratio(1, 2)
    assert kpi(world, "411002", "month", "2026-03-01", "litigation_filed") == count(2)
