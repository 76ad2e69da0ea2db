"""``supervision portal``: start the portal (uvicorn) on 127.0.0.1."""

from __future__ import annotations

from supervision import resources
from supervision.portal.db import Database, prepare

PORTAL_URL_ENV = "SUPERVISION_PORTAL_DATABASE_URL"


def build_database() -> Database:
    """The authenticator's URL from SUPERVISION_PORTAL_DATABASE_URL, else (development, demo) set up by the owner."""
    url = resources.variables().portal_database_url
    if not url:
        from supervision.warehouse.connection import configured_url, start_embedded

        url = prepare(configured_url() or start_embedded(keep_running=True))
    return Database(url)


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from supervision.portal.app import _secret, create_app

    app = create_app(build_database(), secret=_secret(),
                     secure_cookies=resources.variables().portal_secure_cookies)
    print(f"监督平台 supervisors' portal: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
