"""Running sync for this node (DESIGN §5): one round against every peer or one of them
(`rounds`), what a round does against one peer (`pulling`), this node's own log as its
peers hold it (`own_log`), storing what was verified (`ingest`, the one way a verified page
becomes stored entries and derived state), the background loop of `denex serve` (`loop`) and
what `GET /api/v1/peers` shows (`status`). Federation fetches and verifies
(`federation.network.pull`); everything here calls into it, never the other way."""
