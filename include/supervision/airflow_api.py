"""Airflow 3's public REST API (/api/v2) for a deployment: trigger the nightly DAG, follow its run.

`supervision run` uses it when a deployment is configured (the scheduler and its Celery workers do the work);
without one it keeps `airflow dags test` on this machine. The deployment:

- SUPERVISION_AIRFLOW_API_URL   the api-server, e.g. http://airflow.example:8080
- SUPERVISION_AIRFLOW_USERNAME  a user of the auth manager (default admin)
- SUPERVISION_AIRFLOW_PASSWORD  its password (never in a file of the repository)

The token comes from /auth/token (simple auth manager; the FAB auth manager answers the same request).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

URL_ENV = "SUPERVISION_AIRFLOW_API_URL"
USER_ENV = "SUPERVISION_AIRFLOW_USERNAME"
PASSWORD_ENV = "SUPERVISION_AIRFLOW_PASSWORD"
FINISHED = ("success", "failed")


class AirflowApiError(RuntimeError):
    pass


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30):
        self.base = base_url.rstrip("/")
        self.username, self.password, self.timeout = username, password, timeout
        self._token: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,  # noqa: S310 - configured URL
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        if auth:
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # noqa: S310
                raw = r.read()
        except urllib.error.HTTPError as e:
            if e.code == 401 and auth and self._token:  # expired: one new token, once
                self._token = None
                return self._request(method, path, body, auth)
            raise AirflowApiError(f"{method} {path}: HTTP {e.code} {e.read()[:300]!r}") from None
        except OSError as e:
            raise AirflowApiError(f"{method} {self.base}{path}: {e}") from None
        return json.loads(raw) if raw else None

    def token(self) -> str:
        if not self._token:
            self._token = self._request("POST", "/auth/token", {"username": self.username,
                                                                "password": self.password}, auth=False)["access_token"]
        return self._token

    def get(self, path: str):
        return self._request("GET", path)

    def dag(self, dag_id: str) -> dict:
        return self.get(f"/api/v2/dags/{dag_id}")

    def unpause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict, run_id: str | None = None, note: str | None = None) -> str:
        body = {"logical_date": None, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        if note:
            body["note"] = note
        return self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances"
        out: list[dict] = []
        while True:
            page = self.get(f"{path}?limit=100&offset={len(out)}")
            out += page["task_instances"]
            if not page["task_instances"] or len(out) >= page["total_entries"]:
                return out

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict]:
        """Every try of a task instance (the earlier ones too: a try on a worker that died)."""
        path = (f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{task_id}"
                + (f"/{map_index}" if map_index >= 0 else "") + "/tries")
        return self.get(path)["task_instances"]

    def wait(self, dag_id: str, run_id: str, every: float = 5, timeout: float = 8 * 3600, on_tick=None) -> str:
        """Poll until the run is finished; returns its state."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.run(dag_id, run_id)["state"]
            if state in FINISHED:
                return state
            if on_tick:
                on_tick()
            time.sleep(every)
        raise AirflowApiError(f"{dag_id} run {run_id} not finished after {timeout:.0f} s")


def deployment() -> AirflowApi | None:
    """The configured deployment's API, or None (then `supervision run` uses `airflow dags test` here)."""
    from supervision import resources

    v = resources.variables()
    if not v.airflow_api_url:
        return None
    if not v.airflow_password:
        raise AirflowApiError(f"{URL_ENV} is set but {PASSWORD_ENV} is not: set the API user's password")
    return AirflowApi(v.airflow_api_url, v.airflow_username, v.airflow_password.get_secret_value())
