"""The lab: what the demo, the simulations and the tests use, never production (the worker and the
operations import nothing from here).

A throwaway PostgreSQL + PostgREST (stack), the Google Ads API in memory over gRPC+TLS
(fake_google_ads), simulated markets, a seeded marketplace, nights of the real pipeline and worker
against a market (simulate) and their report, and the demo that runs it all.
"""
