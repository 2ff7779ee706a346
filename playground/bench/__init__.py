"""`make bench`: side-by-side measurements written to BENCHMARKS.md."""
