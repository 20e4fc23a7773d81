-- Up Migration

-- Every heartbeat of every onboarding run renews the e-mail claims its owner holds
-- (`WHERE owner = … AND status = 'claimed'`). Without an index that is a scan of every effect
-- ever recorded — one row per student ever onboarded — every few seconds per run. Claims are
-- few and short-lived (a `done` row has no owner), so the partial index stays small.
CREATE INDEX provider_effects_claims_by_owner ON provider_effects (owner) WHERE status = 'claimed';

-- Down Migration
DROP INDEX provider_effects_claims_by_owner;
