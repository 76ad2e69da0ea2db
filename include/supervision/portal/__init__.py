"""The supervisors' portal (issue 16): the marts as a Chinese web application (FastAPI + Jinja2, server-rendered).

Security is the database's: every query of a request runs as the signed-in supervisor's own role (see db.py);
row-level security of the marts decides what each page shows. Start it with ``supervision portal``.
"""
