"""IP blocking at the ai-api's WAF: `blocklist` (the library `python -m ops security` uses too) and `handler` (the
Lambda: GuardDuty findings in, blocks out; the scheduled run removes expired blocks)."""
