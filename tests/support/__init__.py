"""What the test suites share (httpx's `tests/common.py`, openai's `tests/utils.py`).

- `server`: `ScriptedServer`, one scripted HTTP/1.1 server on 127.0.0.1 (keep-alive
  optional) for what a real server will not do on demand, and its answer builders.
- `cli`: running `dphi-em` in-process (`invoke`, `runner_for`) and reading its error lines
  (`one_error_line`, `error_lines`).
- `images`: tar builders: `docker save` archives (`docker_save_tar`, `image_tar_file`), a
  real one-file image (`real_image_tar`), plain tars (`tar_bytes`).
- `emulators`: `EmulatorProcess`, the emulator as its own process (killable, restartable).

The fixtures built on them live in the conftest files (`emulator_process` in
`tests/conftest.py`, `cli` in `tests/e2e/conftest.py`); a test imports the rest from here
(`from support.server import ScriptedServer`), as `tests/` is on the import path.
"""
