-- Up Migration

-- Reports (occupancy, room search) read every room's nights in a window of dates. By the
-- primary key (room_id, night) the only way there was a scan of every night on sale (a year
-- ahead for each room); by night they read just the window's rows. `available` and `total`
-- stay out of the index, so a booking's decrement (which changes only `available`) can still
-- be a HOT update and touches no index.
CREATE INDEX room_nights_by_night ON room_nights (night, room_id);

-- Down Migration

DROP INDEX room_nights_by_night;
