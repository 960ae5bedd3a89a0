"""The synchronous I/O, generated from `dphi_em._async` by `scripts/unasync.py`.

Never edited by hand: edit `dphi_em._async` and run `python scripts/unasync.py`
(`make check` fails when this folder differs from what the script makes).
"""
