"""The Google Ads worker, what runs in production beside the database (docs/worker.md).

`leadflow worker push | pull-metrics | run` (cli) claims the budget changes the nightly run queued
(db: the worker contract of sql/75_worker_contract.sql), sets them in Google Ads (push) through the
gateway (retries, quota, the google-ads client built by ads_client), pulls campaign metrics back
(metrics), and in `run` does both on NOTIFY and on a timer (loop); config reads its settings.
"""
