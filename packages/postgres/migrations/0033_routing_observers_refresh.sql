-- Each API records how often it reports its routing version (API_ROUTING_REFRESH_MS), so a
-- bucket move judges each API by its own interval: silent for longer than that plus ledgerctl's
-- CTL_MOVE_ROUTER_FRESH_MS, it is taken as gone. Judged by CTL_MOVE_ROUTER_FRESH_MS alone, an
-- API refreshing every 10 s counted as gone for half of every interval while healthy; a move
-- then fenced without waiting for it, and it kept publishing the held bucket's commands to the
-- old partition, to be forwarded behind later ones (an outside review). NULL: a row of an API
-- from before this migration, which reports no interval and is judged as before.
ALTER TABLE routing_observers ADD COLUMN IF NOT EXISTS refresh_ms integer CHECK (refresh_ms > 0);
