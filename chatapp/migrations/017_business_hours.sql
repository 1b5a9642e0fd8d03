-- Business hours of the site (chatapp.business_hours holds the rules, chatapp.site_hours reads
-- and writes this row). At most one row; none: no schedule, so the widget says "online"
-- whenever an agent is there and plain "away" otherwise.
-- week: JSON {"mon": [["09:00", "17:30"]], ...}, wall-clock times in time_zone (IANA);
-- holidays: JSON ["2026-12-25", ...], dates in time_zone on which the site stays closed.

CREATE TABLE business_hours (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    time_zone TEXT NOT NULL,
    week TEXT NOT NULL,
    holidays TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at {{timestamp}} NOT NULL
);
