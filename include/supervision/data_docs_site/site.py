"""The site builder and page views of the offline Data Docs (configured by :func:`supervision.data_docs_site.site_config`)."""

from __future__ import annotations

from pathlib import Path

import great_expectations
from great_expectations.data_context.types.resource_identifiers import (
    SiteSectionIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.render.renderer.site_builder import (
    DefaultSiteSectionBuilder,
    SiteBuilder,
    resource_key_passes_run_name_filter,
)
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


class GivenResultsSectionBuilder(DefaultSiteSectionBuilder):
    """GX's validations section; handed result identifiers, it renders exactly those.

    GX's own ``build`` lists every stored result and tests each against the identifiers handed in (a list):
    O(stored × given). Every ``load_shard`` renders its 40 pages, so a national night (11,912 results by its
    end) spent more and more of each shard there (1.8 s for the first shards' pages, 3.3 s at the 30th, growing),
    and its lock held the other shard waiting. Without identifiers (a full build) GX's method runs as it is.
    Rendering errors are raised, not logged and skipped: the caller (a shard, ``summarize``) logs them and
    ``summarize`` renders whatever page is still missing."""

    def build(self, resource_identifiers=None) -> None:
        if not resource_identifiers or self.cloud_mode:
            return super().build(resource_identifiers=resource_identifiers)
        for key in resource_identifiers:
            if not isinstance(key, ValidationResultIdentifier) or not self.source_store.has_key(key):
                continue  # e.g. summarize's index-only selection names no stored result
            if self.run_name_filter and not resource_key_passes_run_name_filter(key, self.run_name_filter):
                continue
            rendered = self.renderer_class.render(self.source_store.get(key))
            viewable = self.view_class.render(rendered, data_context_id=self.data_context_id,
                                              show_how_to_buttons=self.show_how_to_buttons)
            self.target_store.set(SiteSectionIdentifier(site_section_name=self.name, resource_identifier=key),
                                  viewable)
        return None


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
