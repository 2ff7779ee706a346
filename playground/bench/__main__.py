"""`python -m playground.bench --out BENCHMARKS.md` (what `make bench` runs)."""
from playground.bench.run import main

raise SystemExit(main())
