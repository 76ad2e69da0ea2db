"""The alert kinds: who hears about them, how they are keyed, and their labels."""

from __future__ import annotations

from dataclasses import dataclass

COUNTY_WIDE = "*"  # record_type of alerts about the whole county-day


@dataclass(frozen=True)
class Kind:
    name: str
    zh: str
    label: str
    audience: str = "county"  # 'county': county owner, escalated to city and province; 'engineers'
    ongoing: bool = False  # a condition over several days: one unresolved alert per county and type, any date
    start_level: int = 0  # 0 = county data owner first; 1 = county and city supervisors at once


KINDS = {k.name: k for k in (
    Kind("late", "逾期未报", "late: nothing received by the deadline"),
    Kind("missing", "缺报", "missing record type"),
    Kind("rejected", "文件被拒收", "rejected file"),
    Kind("invalid", "数据不合格", "invalid: rejected rows over the threshold"),
    Kind("volume_anomaly", "数据量异常", "volume anomaly"),
    Kind("stale_source", "数据长期未更新", "stale source: no changed rows", ongoing=True),
    Kind("chronic_late", "多次逾期", "chronic lateness", ongoing=True, start_level=1),
    Kind("pipeline_late", "夜间任务未按时完成", "nightly pipeline not finished", audience="engineers"),
    Kind("pipeline_failed", "夜间任务出错", "pipeline error on a county file", audience="engineers"),
    # links, pipes, odd file names, folders of counties not in the registry: nothing of it was read
    Kind("drop_unexpected", "投递目录异常内容", "unexpected entry in the drop folder", audience="engineers"),
)}
LEVELS = ("county", "city", "province")
