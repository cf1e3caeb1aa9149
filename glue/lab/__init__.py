"""The lab: what the demo, the simulations and the tests use, never production.

stack (a throwaway PostgreSQL + PostgREST), fake_google_ads (the Google Ads API over gRPC+TLS, in
memory), market (a simulated Dutch market), seed (a marketplace in the database), simulate (nights of
the real pipeline and worker against the market), report (the HTML report), demo, progress.
"""
