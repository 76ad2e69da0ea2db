"""``python -m supervision.warehouse start|url|stop|status|migrate``: the embedded server by hand.

``start`` and ``url`` pin the embedded server (it keeps running after the command exits) and print the
URL for psql; ``stop`` stops it. ``supervision db ...`` (the project CLI) can delegate here.
"""

import sys

from supervision.warehouse import connection


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cmd = args[0] if args else "url"
    if cmd in ("start", "url"):
        print(connection.redacted(connection.configured_url() or connection.start_embedded(keep_running=True)))
    elif cmd == "stop":
        print("stopped" if connection.stop_embedded() else "not running")
    elif cmd == "status":
        print("running" if connection.embedded_running() else "stopped", connection.pgdata_dir())
    elif cmd == "migrate":
        from supervision.warehouse.migrate import deploy_warehouse

        with connection.connect() as conn:
            print("\n".join(deploy_warehouse(conn)) or "up to date")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
