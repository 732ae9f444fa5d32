"""The swap market (DESIGN §9): swap requests on a published schedule, the matcher, trading cycles, confirmation.

Services, lowest first: state (the schedule as the market sees it), strategy (replicator dynamics over request
strategies), lifecycle (locking, closing, reopening; what other changes close), matching (suggestions, the matcher,
trading cycles) and requests (posting, confirming, declining, cancelling). Models live in stability.models.
"""
