# The two commands in the README: `make demo` and `make test`. Both install first,
# into .venv, from pyproject.toml alone, and both work again on a second run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/seamline demo

test: $(STAMP)
	@# The console's browser tests drive the system Chromium (Debian's package).
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "Could not install Chromium: the console's browser tests need it."
	@# The layout is checked before the behaviour: lint and types over src/ (zero findings).
	$(BIN)/ruff check src
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) .seamline .pytest_cache .hypothesis

# The gateway benchmarks (README "Numbers"): pacing under a rate limit, per-call overhead
# against the bare SDK, and 2,000 events through the pipeline with injected faults.
.PHONY: bench-gateway
bench-gateway: $(STAMP)
	$(BIN)/python benchmarks/gateway_ratelimit.py
	$(BIN)/python benchmarks/gateway_overhead.py
	$(BIN)/python benchmarks/gateway_chaos.py

# The runtime's shapes (README "Numbers"): what each costs on top of the model call.
.PHONY: bench-shapes
bench-shapes: $(STAMP)
	$(BIN)/python benchmarks/sync_invoke.py
	$(BIN)/python benchmarks/stream_windows.py
	$(BIN)/python benchmarks/queue_scaleout.py

# Retrieval (README "Numbers"): indexing throughput, query p50/p99 at 10k and 100k chunks
# against a LIKE scan, quality on the golden questions, and the local embedding model's cost.
.PHONY: bench-retrieval
bench-retrieval: $(STAMP)
	$(BIN)/python benchmarks/retrieval.py

# Start-up (README "Numbers"): `seamline --help`, `seamline check --help` and `import seamline`
# against a bare `python -c pass`, interleaved; fails if they load SQLAlchemy, httpx, FastAPI...
.PHONY: bench-startup
bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py

# The chaos drill (issue 17): SIGKILLed workers, ~20% provider faults, a daily cap and a
# full disk mid-run, a receiver that does not dedupe; SQLite and PostgreSQL (root for the
# size-limited volume). Prints lost events, effects per key, in-doubt actions, faults, spend.
.PHONY: bench-chaos
bench-chaos: $(STAMP)
	$(BIN)/python benchmarks/chaos.py

# Redaction (ingest): recall and must-keep survival per kind on the labelled set against
# Presidio (docs/pii.md), then CPU seconds at 10 KB, 100 KB and 1 MB for each hostile input
# family and for the demo inbox, and the growth ratios (linear is ~10x per 10x; fails above 15x).
.PHONY: bench-redaction
bench-redaction: $(STAMP)
	$(BIN)/python benchmarks/redaction.py

# Grounding (docs/grounding.md): precision and recall of "unsupported" per category on the
# labelled dev, test and held-out splits, the pre-issue-16 checker as the baseline, and µs
# per claim; exits 1 while a held-out split misses the targets.
.PHONY: bench-grounding
bench-grounding: $(STAMP)
	$(BIN)/python benchmarks/grounding.py

# Hostile load (issue 23): a real `seamline serve` against the provider emulator takes 100
# concurrent invokes, 200 sign-ins, the adversarial PII bodies and a fuzz corpus, on SQLite
# and PostgreSQL; prints 5xx (target 0), 503s shed, a probe's p99 before and during, whether
# it answers normally 5 s after, and accepted events left unsettled (target 0).
.PHONY: bench-hostile
bench-hostile: $(STAMP)
	$(BIN)/python benchmarks/hostile.py

# The signed audit chain (docs/audit.md): µs per appended row before and after salted digests
# and with the background signer, one checkpoint's cost, and verifying 1,000,000 rows with
# their checkpoints from the store and from an export (target ≤ 30 s; exits 1 if not met).
.PHONY: bench-audit
bench-audit: $(STAMP)
	$(BIN)/python benchmarks/audit.py

# Approvals and eval with the on-device model's fit kept on disk (README "Numbers"): an
# approval refitting (the baseline) against loading the kept fit (target 1 s), and the
# triage eval cold and warm, in fresh processes, interleaved.
.PHONY: bench-approvals
bench-approvals: $(STAMP)
	$(BIN)/python benchmarks/approvals.py

# Seamline against its peers (README "Numbers", issue 20): bare openai SDK, Instructor,
# litellm.completion, a LiteLLM Router and Seamline's seven layers on one local endpoint at
# 0, 50 and 200 ms model latency; Seamline's own CPU per event; a worker's peak RSS.
.PHONY: bench-peers
bench-peers: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python benchmarks/peers.py
