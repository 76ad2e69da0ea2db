"""The site builder and page views of the offline Data Docs (configured by :func:`supervision.data_docs_site.site_config`)."""

from __future__ import annotations

from pathlib import Path

import great_expectations
from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

from supervision.data_docs_site import GX_REMOTE_LOGO, STATIC, VIEWS

STYLES = "data_docs_default_styles.css"


class LocalAssetsSiteBuilder(SiteBuilder):
    """GX's site builder; the site also gets the local assets its views reference (``static/vendor``)."""

    def build(self, resource_identifiers=None, build_index: bool = True):
        out = super().build(resource_identifiers=resource_identifiers, build_index=build_index)
        # GX's own store method, as it copies its static/ (keys start at the path part "static")
        self.target_store.copy_static_assets(str(STATIC))
        self._styles_without_remote_logo()
        return out

    def _styles_without_remote_logo(self) -> None:
        """GX's stylesheet, which it copies into static/styles, names its logo on S3 (dark mode): the site's copy
        names none, so nothing in the site points off the machine (the pages inline the same, filtered)."""
        source = Path(great_expectations.__file__).parent / "render" / "view" / "static" / "styles" / STYLES
        if not source.is_file():  # another GX layout: tests/integration/test_data_docs_offline.py says what is left
            return
        text = source.read_text(encoding="utf-8").replace(GX_REMOTE_LOGO, "none")
        self.target_store.store_backends["static_assets"].set(
            ("static", "styles", STYLES), text.encode(), content_encoding=None, content_type="text/css")


class _LocalViews:
    """``views/`` as GX's custom views directory (whatever the project's plugins folder holds). GX's loader looks
    in its own package before it, so our pages have new names (``supervision_*.j2``, the views' ``_template``)
    and include GX's section and component templates unchanged."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory=custom_styles_directory, custom_views_directory=str(VIEWS))


class LocalAssetsPageView(_LocalViews, DefaultJinjaPageView):
    _template = "supervision_page.j2"


class LocalAssetsIndexPageView(_LocalViews, DefaultJinjaIndexPageView):
    _template = "supervision_index_page.j2"
