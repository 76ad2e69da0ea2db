"""Great Expectations Data Docs that a person can use offline: the site's configuration, views and assets.

GX 1.x's own page templates load Bootstrap, jQuery, bootstrap-table and Font Awesome from CDNs and the logo
from S3, so without internet its index renders blank. Everything here goes through GX's public site
configuration (``data_docs_sites`` of the data context):

- ``site.py``: the site builder (GX's ``SiteBuilder``, plus a copy of ``static/`` into the built site) and the
  page views, whose templates (``views/*.j2``) reference only the local copies under ``static/vendor/``
  (npm packages, licences and versions in ``static/vendor/SOURCES.md``);
- ``renderer.py``: the validation page renderer: the file and its ledger counts (from the result's ``meta``) on
  top, GX's figures labelled as rule checks, and each broken rule's failing rows (spreadsheet row, record_id).

``validation.py`` calls :func:`configure` when it opens the GX context; nothing else changes for callers.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
VIEWS = HERE / "views"
STATIC = HERE / "static"
SITE_NAME = "local_site"
# GX's default stylesheet puts its logo from S3 behind the navbar brand in dark mode; the site says "none"
GX_REMOTE_LOGO = "url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png')"


def site_config(base_directory: str = "uncommitted/data_docs/local_site/") -> dict:
    """The ``data_docs_sites`` entry of the GX project: GX's builders, our renderer, views and assets."""
    module = "supervision.data_docs_site.site"
    page_view = {"module_name": module, "class_name": "LocalAssetsPageView"}
    return {SITE_NAME: {
        "class_name": "LocalAssetsSiteBuilder", "module_name": module,
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": base_directory},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {"module_name": module, "class_name": "LocalAssetsIndexPageView"}},
        "site_section_builders": {
            "expectations": {"view": page_view},
            "validations": {"module_name": module, "class_name": "GivenResultsSectionBuilder", "view": page_view,
                            "renderer": {"module_name": "supervision.data_docs_site.renderer",
                                         "class_name": "FileValidationPageRenderer"}},
            "profiling": "None",  # no profiling results in this project (GX's falsy spelling)
        },
    }}


def configure(ctx) -> bool:
    """Make the context's Data Docs site the offline one (saved in great_expectations.yml); returns whether it
    changed. Idempotent: a project already configured is left as it is."""
    sites = ctx.variables.data_docs_sites or {}
    base = (sites.get(SITE_NAME, {}).get("store_backend") or {}).get("base_directory") \
        or "uncommitted/data_docs/local_site/"
    wanted = site_config(base)
    if sites == wanted:
        return False
    ctx.variables.data_docs_sites = wanted
    ctx.variables.save()
    return True
