"""Registers the project's timetables with Airflow (custom timetables must come from a plugin)."""

from airflow.plugins_manager import AirflowPlugin

from supervision.timetables import NightlyTimetable


class SupervisionTimetables(AirflowPlugin):
    name = "supervision_timetables"
    timetables = [NightlyTimetable]
