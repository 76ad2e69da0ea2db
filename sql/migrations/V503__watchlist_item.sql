-- The watchlist as of the last refresh (issue 16: the portal's 预警 page at province scale). marts.watchlist is a
-- union of five views computed from the facts (about 100,000 overdue items for Henan: ~1 s to sort); its rows
-- depend only on the facts and the as-of date, both set by the refresh, so the refresh copies it here
-- (supervision.marts.refresh) and the portal reads this table by days overdue. Same columns as marts.watchlist,
-- same row-level security as the facts beneath it.
CREATE TABLE marts.watchlist_item (LIKE marts.watchlist);
COMMENT ON TABLE marts.watchlist_item IS
    '预警清单(物化): marts.watchlist as of the last refresh, for listing by days overdue (the portal)';
CREATE INDEX watchlist_item_overdue_idx ON marts.watchlist_item (days_overdue DESC, county_code, record_id);
CREATE INDEX watchlist_item_kind_idx ON marts.watchlist_item (kind, days_overdue DESC);
SELECT marts.protect_by_division('marts.watchlist_item', 'county_code', 'township_code');
INSERT INTO marts.watchlist_item SELECT * FROM marts.watchlist;
