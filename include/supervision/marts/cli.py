"""`supervision supervisor ...` and `supervision marts ...` (registered by supervision.cli.main).

  supervision supervisor create --division 411002 --login wd_zhang [--person 张伟] [--password-stdin | --no-password]
  supervision supervisor list [--division 4110]
  supervision supervisor drop --login wd_zhang
  supervision marts refresh [--full] [--as-of 2026-11-23]
  supervision marts status
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("supervisor", help="supervisor logins: create | list | drop",
                              description="Read-only warehouse logins for supervisors, each scoped to one division "
                                          "(row-level security). See docs/security.md.")
    sub = p.add_subparsers(dest="supervisor_action", required=True)
    c = sub.add_parser("create", help="create a supervisor login for a division")
    c.add_argument("--division", required=True,
                   help="province (41), city (4110), county (411002) or township (411002001) code")
    c.add_argument("--login", required=True, help="login name: lower-case letters, digits, _ (e.g. wd_zhangwei)")
    c.add_argument("--person", help="who the login is for (kept in marts.supervisor_scope)")
    pw = c.add_mutually_exclusive_group()
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    pw.add_argument("--no-password", action="store_true",
                    help="no password (certificate or peer authentication configured in pg_hba.conf)")
    c.set_defaults(func=cmd_supervisor_create)
    ls = sub.add_parser("list", help="list supervisor logins")
    ls.add_argument("--division", help="only this division and the divisions below it")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_supervisor_list)
    d = sub.add_parser("drop", help="drop a supervisor login")
    d.add_argument("--login", required=True)
    d.set_defaults(func=cmd_supervisor_drop)

    p = subparsers.add_parser("marts", help="supervisor marts: refresh | status")
    sub = p.add_subparsers(dest="marts_action", required=True)
    r = sub.add_parser("refresh", help="refresh the marts now (normally triggered by the nightly load)")
    r.add_argument("--full", action="store_true", help="rebuild every fact and figure, not only what changed")
    r.add_argument("--as-of", type=date.fromisoformat, default=None,
                   help="as-of date YYYY-MM-DD: deadlines before it have passed (default: today, Asia/Shanghai)")
    r.set_defaults(func=cmd_marts_refresh)
    s = sub.add_parser("status", help="the last refresh")
    s.set_defaults(func=cmd_marts_status)


def _connect():
    from supervision.warehouse.connection import connect
    from supervision.warehouse.migrate import require_current_schema

    conn = connect(autocommit=True)
    require_current_schema(conn)  # migrations are a deploy step: supervision db migrate
    return conn


def cmd_supervisor_create(args) -> int:
    from supervision.marts.access import create_supervisor, generate_password
    from supervision.warehouse.connection import redacted, warehouse_url

    password, generated = None, False
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            print("supervision supervisor create: empty password on standard input", file=sys.stderr)
            return 2
    elif not args.no_password:
        password, generated = generate_password(), True
    with _connect() as conn:
        s = create_supervisor(conn, args.login, args.division, password=password, person=args.person)
    print(f"created login {s.login}: {s.level} supervisor of {s.division_code} {s.division_name or ''} "
          "(read-only; sees only this division)")
    if generated:
        print(f"password (shown once, hand it over securely): {password}")
    print(f"connect: psql \"{redacted(_login_url(warehouse_url(), s.login))}\"")
    return 0


def _login_url(url: str, login: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(login, safe='')}@{host}"))


def cmd_supervisor_list(args) -> int:
    from supervision.marts.access import list_supervisors

    with _connect() as conn:
        rows = list_supervisors(conn, args.division)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print("no supervisor logins")
    for r in rows:
        state = "" if r.can_login else "  (role missing)"
        print(f"{r.login:<24} {r.level:<9} {r.division_code:<10} {r.division_name or ''}"
              f"{'  ' + r.person if r.person else ''}{state}")
    return 0


def cmd_supervisor_drop(args) -> int:
    from supervision.marts.access import drop_supervisor

    with _connect() as conn:
        drop_supervisor(conn, args.login)
    print(f"dropped login {args.login}")
    return 0


def cmd_marts_refresh(args) -> int:
    from supervision.marts.refresh import refresh_marts

    with _connect() as conn:
        result = refresh_marts(conn, full=args.full, as_of=args.as_of, migrate=False)
    print(result.summary())
    return 0


def cmd_marts_status(args) -> int:
    from supervision.marts.refresh import last_refresh

    with _connect() as conn:
        last = last_refresh(conn)
    if last is None:
        print("the marts have never been refreshed: supervision marts refresh")
        return 1
    print(json.dumps(last, default=str, ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:  # for `python -m supervision.marts.cli`
    parser = argparse.ArgumentParser(prog="supervision")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
