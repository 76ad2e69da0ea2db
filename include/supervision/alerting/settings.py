"""Alerting settings: the optional ``alerting`` section of the county registry.

Every key has a default, so a registry without the section works unchanged. Example (all keys)::

    alerting:
      engineers:                       # pipeline alerts and Airflow task failures
        - {name: 数据工程值班, email: data-engineers@supervision.example}
      supervisors:                     # escalation and digests, by division code (province "41", city "4110")
        "41":   [{name: 河南省司法厅执法监督处, email: supervision-41@supervision.example}]
        "4110": [{name: 许昌市司法局执法监督科, channels: ["dingtalk://${DINGTALK_4110}/"]}]
      escalation: {city_after: 2h, province_after: 4h}
      pipeline_deadline: "08:00"       # the nightly run must have recorded every county by then (next day)
      digest_time: "08:30"             # morning digest per city and province
      lookback_days: 3                 # per-date alerts for deadlines passed at most 3 days ago
      chronic_late: {k: 3, n: 10}      # late on k of the last n business dates
      stale_days: {default: 7, reconsideration_cases: 30, litigation_cases: 30, complaints: 14}
      volume: {history_days: 56, min_history: 5, ratio: 3, min_rows: 20, z: 4}
      retry: {first: 5m, max: 1h}      # failed deliveries: exponential back-off between these
      smtp_url: "mailtos://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.com?from=alerts@example.com"

Contacts (county ``contact`` entries too) choose their channels: ``channels`` is a list of apprise URLs
(``mailto://``, ``dingtalk://``, ``wecombot://``, ``slack://``, ``json://`` ...), where ``email`` means "my
email address through ``smtp_url``"; without ``channels`` a contact is reached by email. ``${VAR}`` in a
URL is read from the environment when sending, so tokens stay out of the repository (and the warehouse).
``SUPERVISION_SMTP_URL`` in the environment overrides ``smtp_url``.
"""

from __future__ import annotations

# The models live in supervision.config (the registry loads them without importing alerting).
from supervision.config.alerting import DEFAULT_STALE_DAYS, AlertingSection, AlertSettings, VolumeSettings
from supervision.config.contacts import Contact
from supervision.config.values import parse_duration

__all__ = ["DEFAULT_STALE_DAYS", "AlertSettings", "AlertingSection", "Contact", "VolumeSettings", "parse_duration"]
