"""Data Docs: the GX site rendered from the stored validation results (one per county file), and the links to
its pages, all through GX's public API (``build_data_docs``, ``get_docs_sites_urls``).

A shard renders its own files' pages after its GX run (:func:`render_data_docs_pages`); ``summarize`` renders
whatever page of the night is still missing and the index (:func:`build_data_docs`).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from supervision import resources
from supervision.validation.gx_suite import _gx_context, _gx_lock, gx_root

SITE = "local_site"  # the file site GX's file context configures


def page_link(key, ctx=None) -> str | None:
    """Where the Data Docs page of a stored validation result is (rendered or not yet), from GX: a local path for
    the file site (what the ledger's ``validation_ref`` holds), else GX's URL."""
    ctx = ctx or _gx_context(str(gx_root()))
    urls = [u["site_url"] for u in ctx.get_docs_sites_urls(resource_identifier=key, only_if_exists=False,
                                                            site_name=SITE) if u.get("site_url")]
    if not urls:
        return None
    return _local(urls[0])


def _local(url: str) -> str:
    parsed = urlparse(url)
    return url2pathname(unquote(parsed.path)) if parsed.scheme == "file" else url


def _rendered(ctx, key) -> bool:
    return any(u.get("site_url") for u in ctx.get_docs_sites_urls(resource_identifier=key, only_if_exists=True,
                                                                   site_name=SITE))


def index_page() -> Path:
    """The site's index.html (GX's URL of the site without a resource)."""
    ctx = _gx_context(str(gx_root()))
    return Path(_local(ctx.get_docs_sites_urls(only_if_exists=False, site_name=SITE)[0]["site_url"]))


def _night_keys(ctx, business_date, counties=None) -> list:
    """The stored results of a business date (run names ``<county>-<date>-…``), of these counties if given."""
    tag = f"-{business_date}-"
    prefixes = tuple(f"{c}{tag}" for c in counties) if counties is not None else None
    return [k for k in ctx.validation_results_store.list_keys()
            if (name := k.run_id.run_name or "") and (name.startswith(prefixes) if prefixes is not None else tag in name)]


def _render(ctx, keys: list, build_index: bool = False) -> None:
    """GX renders every stored result when handed no (or an empty) list of keys: never call it that way."""
    if keys:
        ctx.build_data_docs(site_names=[SITE], resource_identifiers=list(keys), build_index=build_index)


def _index_only() -> list:
    """A selection that names no stored result: GX then renders no page, only the index (a plain list of one
    identifier no result has; an empty list would mean "every result")."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return [ValidationResultIdentifier(ExpectationSuiteIdentifier("index-only"),
                                       RunIdentifier("index-only", datetime(1970, 1, 1, tzinfo=UTC)), "none")]


def render_keys(keys: list) -> int:
    """Render the pages of these stored results (no index)."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        _render(ctx, keys)
    return len(keys)


def render_data_docs_pages(business_date: date | str, counties: list[str]) -> int:
    """Render the Data Docs pages of these counties' results of a business date, without the index: each
    ``load_shard`` renders its own pages (in parallel with the other shards), ``summarize`` only the index.
    Returns the number of pages rendered."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        keys = _night_keys(ctx, business_date, counties)
        _render(ctx, keys)
    return len(keys)


def index_results() -> int:
    """How many validation results (the newest by run time, i.e. by file received) the Data Docs index lists."""
    return resources.variables().data_docs_index_results


@contextmanager
def _index_limited(ctx, limit: int):
    """GX's index builder reads back every stored result to list it (3.6 ms each here): capped at the ``limit``
    newest, the index costs the same on the 300th night as on the first. The cap is set in the context's
    variables for this call only (GX applies it to page rendering too: pages are rendered without it)."""
    sites = ctx.variables.data_docs_sites
    capped = {name: {**cfg, "site_index_builder": {**cfg.get("site_index_builder", {
        "class_name": "DefaultSiteIndexBuilder"}), "validation_results_limit": limit}} for name, cfg in sites.items()}
    ctx.variables.data_docs_sites = capped
    try:
        yield
    finally:
        ctx.variables.data_docs_sites = sites


def build_data_docs(business_date: date | str | None = None, counties: list[str] | None = None) -> Path:
    """Render Data Docs and return the site's index.html: for one business date's validation results only (run
    names ``<county>-<date>-…``) when given (of these counties if given: another registry's run of the same
    date renders its own pages), else for every stored result. A night renders its own pages, so the
    nightly cost does not grow with the results of earlier nights; pages its shards already rendered
    (:func:`render_data_docs_pages`) are not rendered again. The index lists the newest
    :func:`index_results` results (every older page stays where it is, linked from the ledger)."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        if business_date is None:
            ctx.build_data_docs(site_names=[SITE])
        else:
            keys = _night_keys(ctx, business_date, counties)
            _render(ctx, [k for k in keys if not _rendered(ctx, k)])
            with _index_limited(ctx, index_results()):
                ctx.build_data_docs(site_names=[SITE], resource_identifiers=_index_only(), build_index=True)
    return index_page()
