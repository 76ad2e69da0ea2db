"""The engineers' county board in the Airflow UI (supervision.board): a FastAPI app mounted in the api-server at
/county-board, and a link to it in the UI's navigation (Browse → 县区看板). Access is Airflow's own sign-in: the
UI's JWT cookie, checked by Airflow's auth manager."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from supervision.board import DAG_ID, PREFIX, create_app


async def _authorize(request) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN) or request.headers.get("authorization", "").removeprefix(
        "Bearer ")
    if not token:
        return False
    try:
        return await get_auth_manager().get_user_from_token(token) is not None
    except Exception:  # expired, forged, another deployment's secret
        return False


def _locate_logs(run_ids: set[str]) -> dict[tuple[str, str], int]:
    """Which mapped load_shard processed each county of these runs: its label (rendered_map_index) lists them."""
    if not run_ids:
        return {}
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    out: dict[tuple[str, str], int] = {}
    with create_session() as session:
        rows = session.query(TaskInstance.run_id, TaskInstance.map_index, TaskInstance.rendered_map_index).filter(
            TaskInstance.dag_id == DAG_ID, TaskInstance.task_id == "load_shard",
            TaskInstance.run_id.in_(run_ids)).all()
    for run_id, map_index, label in rows:
        for part in (label or "").split(","):
            if part.strip():
                out[(run_id, part.strip().split()[0])] = map_index
    return out


class SupervisionBoard(AirflowPlugin):
    name = "supervision_board"
    fastapi_apps = [{"app": create_app(_authorize, _locate_logs), "url_prefix": PREFIX, "name": "县区看板"}]
    external_views = [{"name": "县区看板 County board", "href": f"{PREFIX}/", "destination": "nav",
                       "category": "browse", "url_route": "county-board"}]
